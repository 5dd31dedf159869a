import { mkdir, mkdtemp, readFile, realpath, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createKsaModule, type KsaModule } from "../module.js";
import { BUILTIN_KSAS } from "./index.js";
import { onShellGroup, scrubbedEnv, type ShellGroupEvent } from "./shell.js";

type RunResult = { exitCode: number; stdout: string; stderr: string; truncated: boolean; timedOut: boolean };

let dir: string;
let shell: KsaModule[string];
const run = (p: Record<string, unknown>) => shell.run(p) as Promise<RunResult>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ksa-shell-"));
  shell = createKsaModule({ workspace: dir, outputDir: join(dir, "out"), gateway: async () => null }, BUILTIN_KSAS, ["shell"], "Test").shell;
});

/**
 * Waits until `process.kill(pid, 0)` fails. A killed grandchild is reparented to PID 1 and stays a
 * zombie until PID 1 reaps it; if that takes more than a few seconds, a zombie (state Z: exited,
 * nothing running) is accepted, a running process is not.
 */
async function fate(pid: number): Promise<"gone" | "zombie" | "running"> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return "gone";
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat.split(") ")[1]?.startsWith("Z") ? "zombie" : "running";
}

describe("shell.run", () => {
  test("returns stdout, stderr and the exit code; runs in the workspace", async () => {
    expect(await run({ command: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] })).toEqual({
      exitCode: 3,
      stdout: "out\n",
      stderr: "err\n",
      truncated: false,
      timedOut: false,
    });
    expect((await run({ command: "pwd" })).stdout.trim()).toBe(await realpath(dir));
    expect((await run({ command: "true" })).exitCode).toBe(0);
  });

  test("arguments are passed literally: no shell syntax is interpreted", async () => {
    const r = await run({ command: "echo", args: ["hello; rm -rf /", "$(whoami)", "`id`", "a && b", "*"] });
    expect(r.stdout).toBe("hello; rm -rf / $(whoami) `id` a && b *\n");
    expect(r.exitCode).toBe(0);
  });

  test("cwd is a workspace folder; escapes are refused", async () => {
    await mkdir(join(dir, "sub"));
    expect((await run({ command: "pwd", cwd: "sub" })).stdout.trim().endsWith("/sub")).toBe(true);
    await expect(run({ command: "pwd", cwd: ".." })).rejects.toThrow('shell.run: cwd ".." escapes the workspace');
    await expect(run({ command: "pwd", cwd: "/" })).rejects.toThrow(/cwd "\/" is absolute/);
    await symlink("/etc", join(dir, "etc"));
    await expect(run({ command: "pwd", cwd: "etc" })).rejects.toThrow(/resolves through a symlink to outside the workspace/);
    await expect(run({ command: "pwd", cwd: "missing" })).rejects.toThrow(/cwd "missing" is not a folder/);
  });

  test("a missing command fails clearly", async () => {
    await expect(run({ command: "no-such-command-xyz" })).rejects.toThrow('shell.run: command not found: "no-such-command-xyz"');
  });

  test("a timeout kills the command", async () => {
    const started = Date.now();
    const r = await run({ command: "sleep", args: ["30"], timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(137);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("a timeout kills the whole process group, children included", async () => {
    const r = await run({ command: "sh", args: ["-c", "sleep 30 & echo $!; wait"], timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    const child = Number(r.stdout.trim());
    expect(child).toBeGreaterThan(0);
    expect(await fate(child)).not.toBe("running");
  });

  test("background processes do not outlive the command", async () => {
    const r = await run({ command: "sh", args: ["-c", "sleep 30 >/dev/null 2>&1 & echo $!"] });
    expect(r.timedOut).toBe(false);
    const child = Number(r.stdout.trim());
    expect(await fate(child)).not.toBe("running");
  });

  test("process groups are reported as they start and end (for a runtime that kills leftovers)", async () => {
    const events: ShellGroupEvent[] = [];
    onShellGroup((e) => events.push(e));
    try {
      const r = await run({ command: "sh", args: ["-c", "echo $$"] });
      const pid = Number(r.stdout.trim());
      expect(events).toEqual([
        { pgid: pid, state: "started" },
        { pgid: pid, state: "ended" },
      ]);
    } finally {
      onShellGroup(undefined);
    }
  });

  test("output is capped per stream and the cut is marked", async () => {
    const r = await run({ command: "sh", args: ["-c", "head -c 100000 /dev/zero | tr '\\0' a; echo short >&2"], maxOutputBytes: 1000 });
    expect(r.truncated).toBe(true);
    expect(r.stdout.startsWith("a".repeat(1000) + "\n[truncated: kept 1000 of 100000 bytes]")).toBe(true);
    expect(r.stderr).toBe("short\n");
    const big = await run({ command: "sh", args: ["-c", "head -c 200000 /dev/zero"] });
    expect(big.stdout.length).toBeLessThan(64 * 1024 + 100);
    expect(big.truncated).toBe(true);
  });

  describe("environment", () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of ["OPENAI_API_KEY", "LAKITU_TOKEN", "LAKITU_CALLBACK_URL", "DB_PASSWORD", "GH_token", "MY_SECRET_THING", "HARMLESS_SETTING"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });

    test("credentials and LAKITU_* variables never reach the command", async () => {
      Object.assign(process.env, {
        OPENAI_API_KEY: "sk-fake-123",
        LAKITU_TOKEN: "lakitu-fake-456",
        LAKITU_CALLBACK_URL: "http://127.0.0.1:9/cb",
        DB_PASSWORD: "pw-fake",
        GH_token: "gh-fake",
        MY_SECRET_THING: "s-fake",
        HARMLESS_SETTING: "visible",
      });
      const r = await run({ command: "env" });
      expect(r.exitCode).toBe(0);
      for (const leaked of ["OPENAI_API_KEY", "sk-fake-123", "LAKITU_", "lakitu-fake-456", "pw-fake", "gh-fake", "s-fake"]) {
        expect(r.stdout).not.toContain(leaked);
      }
      expect(r.stdout).toContain("HARMLESS_SETTING=visible");
      expect(r.stdout).toMatch(/^PATH=/m);
    });

    test("scrubbedEnv drops exactly the secret-looking and LAKITU_ names", () => {
      expect(scrubbedEnv({ PATH: "/bin", AWS_ACCESS_KEY_ID: "a", api_key: "b", LAKITU_X: "c", XLAKITU_Y: "d", HOME: "/h" })).toEqual({
        PATH: "/bin",
        XLAKITU_Y: "d",
        HOME: "/h",
      });
    });
  });
});
