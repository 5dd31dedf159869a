/**
 * The benchmark's provider without sandboxes: it starts the given script as a plain process with the
 * session environment (the token in a file, not the environment), reports it running until it exits or
 * is killed, and kills what the process started with it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { closeProcessProvider, configureProcessProvider, handleProcessRequest, liveProcesses } from "./processProvider.js";

const TOKEN = "t".repeat(40);
let scratch: string;

/** A stand-in runtime: records its environment and token file, starts a child, then waits (or exits). */
function fakeRuntime(exitAfterMs: number | null): string {
  scratch = mkdtempSync(join(tmpdir(), "lakitu-plain-test-"));
  const main = join(scratch, "main.cjs");
  writeFileSync(
    main,
    `const fs = require("node:fs"), path = require("node:path"), cp = require("node:child_process");
     const tokenFile = path.resolve(process.env.HOME, process.env.LAKITU_TOKEN_FILE);
     const child = cp.spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
     fs.writeFileSync(path.join(${JSON.stringify(scratch)}, "seen.json"), JSON.stringify({ env: process.env, token: fs.readFileSync(tokenFile, "utf8"), cwd: process.cwd(), grandchild: child.pid }));
     ${exitAfterMs === null ? "setInterval(() => {}, 1000);" : `setTimeout(() => { child.kill(); process.exit(0); }, ${exitAfterMs});`}`,
  );
  return main;
}

async function until(what: () => boolean, ms = 10_000) {
  for (let waited = 0; !what(); waited += 20) {
    if (waited > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
};

afterEach(async () => {
  await closeProcessProvider();
  rmSync(scratch, { recursive: true, force: true });
});

const create = () =>
  handleProcessRequest({ op: "create", sessionId: "s1", metadata: { "lakitu.run": "r1" }, envs: { LAKITU_URL: "http://127.0.0.1:1", LAKITU_TOKEN: TOKEN, LAKITU_RUN_ID: "r1" }, timeoutMs: 60_000 });

describe("process provider", () => {
  test("starts the runtime with the session environment, the token only in a file", async () => {
    const { componentSocket } = configureProcessProvider({ runtimeMain: fakeRuntime(null) });
    const r = create();
    expect(r).toMatchObject({ ok: true, op: "create" });
    await until(() => existsSync(join(scratch, "seen.json")));
    const seen = JSON.parse(readFileSync(join(scratch, "seen.json"), "utf8"));
    expect(seen.token).toBe(TOKEN);
    expect(Object.values(seen.env)).not.toContain(TOKEN);
    expect(seen.env).toMatchObject({ LAKITU_URL: "http://127.0.0.1:1", LAKITU_RUN_ID: "r1", LAKITU_COMPONENT_SOCKET: componentSocket });
    expect(seen.cwd.endsWith("workspace")).toBe(true);
    const sandboxId = (r as { sandboxId: string }).sandboxId;
    expect(handleProcessRequest({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "running" });
    expect(handleProcessRequest({ op: "list", metadata: { "lakitu.run": "r1" } })).toMatchObject({ sandboxes: [{ sandboxId }] });
    // Kill takes the runtime's process group: what it started goes too.
    expect(handleProcessRequest({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: true });
    await until(() => liveProcesses() === 0 && !alive(seen.grandchild));
    expect(handleProcessRequest({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "gone" });
    expect(handleProcessRequest({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: false });
  });

  test("a runtime that exits is gone; unknown ids and use before configuration are errors", async () => {
    expect(() => create()).toThrow(/before configureProcessProvider/);
    configureProcessProvider({ runtimeMain: fakeRuntime(50) });
    const r = create() as { sandboxId: string };
    await until(() => liveProcesses() === 0);
    expect(handleProcessRequest({ op: "status", sandboxId: r.sandboxId })).toEqual({ ok: true, op: "status", state: "gone" });
    expect(handleProcessRequest({ op: "kill", sandboxId: "plain-999" })).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});
