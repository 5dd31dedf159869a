/** Helpers shared by the sandbox host's tests (and its provider test). Not shipped. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

/** True when a `bwrap` binary is on PATH (CI installs it; its absence is the only reason to skip). */
export function bwrapInstalled(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v bwrap"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const roots: string[] = [];
// Registered when a test file imports this module, so it runs after that file's own afterAll hooks
// (after hooks run in reverse order): hosts are closed before their roots go.
afterAll(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS tmpdir, removed after the test file. */
export function tempRoot(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lakitu-${label}-`));
  roots.push(dir);
  return dir;
}

/** Polls `probe` until it returns a value (not undefined/false) without throwing; then that value. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `process.kill(pid, 0)` throws (ESRCH) for every pid: no process, not even a zombie, is left. */
export function allGone(pids: number[]): boolean {
  return pids.every((pid) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ESRCH";
    }
  });
}
