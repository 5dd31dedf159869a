/**
 * The local sandbox host driven by the real `e2b` SDK over loopback HTTP: control plane, commands,
 * files, kill/timeout cleanup, and the error classes the SDK maps our statuses to.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  AuthenticationError,
  CommandExitError,
  FileNotFoundError,
  RateLimitError,
  Sandbox,
  SandboxError,
  SandboxNotFoundError,
  TimeoutError,
} from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { allGone, tempRoot, waitFor } from "./testing/helpers.js";

let host: SandboxHost;
let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };
const run = `run-${Date.now()}`;

beforeAll(async () => {
  host = await startSandboxHost({ root: tempRoot("host"), templates: ["lakitu"], warn: () => {} });
  opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
});
afterAll(async () => {
  await host?.close();
});

const create = (metadata: Record<string, string> = { run }, extra: Partial<Parameters<typeof Sandbox.create>[1]> = {}) =>
  Sandbox.create("lakitu", { ...opts, metadata, timeoutMs: 120_000, ...extra });

const summary = (id: string) => host.list().find((s) => s.sandboxId === id);

/** True when `pid` is `ancestor` or below it (parent links from /proc). */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid; p > 1; ) {
    if (p === ancestor) return true;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
  }
  return false;
}

describe("commands", () => {
  it("runs a foreground command with the sandbox's and the command's envs, in the home directory (E2B's default)", async () => {
    const sbx = await create({ run }, { envs: { FROM_CREATE: "c" } });
    const r = await sbx.commands.run("echo hi; echo $FROM_CREATE $FROM_RUN; pwd; echo $HOME", { envs: { FROM_RUN: "r" } });
    expect(r.exitCode).toBe(0);
    const home = host.isolation === "bwrap" ? "/home/user" : path.join(summary(sbx.sandboxId)!.dir, "home");
    expect(r.stdout).toBe(`hi\nc r\n${home}\n${home}\n`);
    await sbx.kill();
  });

  it("reports a non-zero exit as CommandExitError with the exit code and output", async () => {
    const sbx = await create();
    const err = await sbx.commands.run("echo out; echo boom >&2; exit 7").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandExitError);
    expect(err).toMatchObject({ exitCode: 7, stdout: "out\n", stderr: "boom\n" });
    await sbx.kill();
  });

  it("keeps a background command running after the client disconnects", async () => {
    const sbx = await create();
    const handle = await sbx.commands.run("sleep 0.5; echo later > workspace/bg.txt", { background: true, timeoutMs: 0 });
    expect(handle.pid).toBeGreaterThan(0);
    await handle.disconnect();
    await expect(sbx.files.read("/home/user/workspace/bg.txt")).rejects.toBeInstanceOf(FileNotFoundError);
    const text = await waitFor("bg.txt", () =>
      sbx.files.read("/home/user/workspace/bg.txt").then(
        (t) => t || undefined,
        () => undefined,
      ),
    );
    expect(text).toBe("later\n");
    await sbx.kill();
  });

  it("lists and kills a command by pid; a second kill finds nothing", async () => {
    const sbx = await create();
    const handle = await sbx.commands.run("sleep 60", { background: true });
    expect((await sbx.commands.list()).map((p) => p.pid)).toContain(handle.pid);
    // The SDK's pid is the in-sandbox one; the host knows the command by the host pid it spawned
    // (nsenter under bwrap, whose child is the command).
    const hostPid = summary(sbx.sandboxId)!.commands.find((c) => c.pid === handle.pid)!.hostPid;
    const treePids = [hostPid, ...summary(sbx.sandboxId)!.pids.filter((pid) => descendsFrom(pid, hostPid))];
    expect(treePids.length).toBeGreaterThanOrEqual(2);
    expect(await sbx.commands.kill(handle.pid)).toBe(true);
    await expect(handle.wait()).rejects.toBeInstanceOf(CommandExitError);
    await waitFor("command tree gone", () => allGone(treePids));
    expect(await sbx.commands.list()).toEqual([]);
    expect(await sbx.commands.kill(handle.pid)).toBe(false);
    await sbx.kill();
  });

  it("delivers SIGTERM (SendSignal) to the command itself, which can handle it", async () => {
    const sbx = await create();
    const handle = await sbx.commands.run("trap 'echo got-term; exit 3' TERM; sleep 30 & wait", { background: true });
    const token = (await (await fetch(`${host.url}/sandboxes/${sbx.sandboxId}`, { headers: { "x-api-key": host.apiKey } })).json()) as {
      envdAccessToken: string;
    };
    await new Promise((r) => setTimeout(r, 200)); // let the trap be installed
    const res = await fetch(`${host.url}/process.Process/SendSignal`, {
      method: "POST",
      headers: { "content-type": "application/json", "e2b-sandbox-id": sbx.sandboxId, "x-access-token": token.envdAccessToken },
      body: JSON.stringify({ process: { pid: handle.pid }, signal: "SIGNAL_SIGTERM" }),
    });
    expect(res.status).toBe(200);
    const err = await handle.wait().catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 3, stdout: "got-term\n" });
    await sbx.kill();
  });

  it("feeds stdin to a command started with stdin: true", async () => {
    const sbx = await create();
    const handle = await sbx.commands.run("cat", { background: true, stdin: true });
    await sbx.commands.sendStdin(handle.pid, "piped\n");
    await sbx.commands.closeStdin(handle.pid);
    expect((await handle.wait()).stdout).toBe("piped\n");
    await sbx.kill();
  });

  it("kills a command whose Start deadline (timeoutMs) passes, as E2B does", async () => {
    const sbx = await create();
    const started = Date.now();
    const err = await sbx.commands.run("sleep 30", { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor("no command left", async () => ((await sbx.commands.list()).length === 0 ? true : undefined));
    await sbx.kill();
  });

  it("rejects a cwd that does not exist", async () => {
    const sbx = await create();
    await expect(sbx.commands.run("pwd", { cwd: "/home/user/workspace/nope" })).rejects.toThrow(/does not exist/);
    await sbx.files.write("/home/user/workspace/sub/x", "");
    expect((await sbx.commands.run("pwd", { cwd: "/home/user/workspace/sub" })).stdout.trim()).toMatch(/sub$/);
    await sbx.kill();
  });
});

describe("files", () => {
  it("writes and reads text and bytes, creating parent directories, visible in the host workspace", async () => {
    const sbx = await create();
    await sbx.files.write("/home/user/workspace/a/b/c.txt", "héllo");
    expect(await sbx.files.read("/home/user/workspace/a/b/c.txt")).toBe("héllo");
    const bytes = new Uint8Array([0, 1, 2, 255]);
    await sbx.files.write("data.bin", bytes.buffer); // relative: under /home/user
    expect(await sbx.files.read("/home/user/data.bin", { format: "bytes" })).toEqual(bytes);
    expect(readFileSync(path.join(summary(sbx.sandboxId)!.workspace, "a/b/c.txt"), "utf8")).toBe("héllo");
    const many = await sbx.files.write([
      { path: "/home/user/workspace/m1", data: "1" },
      { path: "/tmp/m2", data: "2" },
    ]);
    expect(many.map((f) => f.path)).toEqual(["/home/user/workspace/m1", "/tmp/m2"]);
    expect(await sbx.commands.run("cat m1", { cwd: "/home/user/workspace" }).then((r) => r.stdout)).toBe("1");
    expect(await sbx.files.read("/tmp/m2")).toBe("2");
    expect(await sbx.files.read("/home/user/workspace/empty").catch((e: unknown) => e)).toBeInstanceOf(FileNotFoundError);
    await sbx.files.write("/home/user/workspace/empty", "");
    expect(await sbx.files.read("/home/user/workspace/empty")).toBe("");
    await sbx.kill();
  });

  it("refuses paths outside /home/user and /tmp", async () => {
    const sbx = await create();
    await expect(sbx.files.write("/etc/evil", "x")).rejects.toBeInstanceOf(SandboxError);
    await expect(sbx.files.read("/etc/passwd")).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sbx.files.read("/home/user/../../etc/passwd")).rejects.toBeInstanceOf(FileNotFoundError);
    // A FIFO the sandbox planted must not hang the host (opening one for reading blocks by default).
    await sbx.commands.run("mkfifo workspace/pipe");
    await expect(sbx.files.read("/home/user/workspace/pipe")).rejects.toThrow(/not a regular file/);
    await expect(sbx.files.write("/home/user/workspace/pipe", "x")).rejects.toThrow(/not a regular file/);
    await expect(sbx.files.read("/home/user/workspace")).rejects.toThrow(/not a regular file/);
    await sbx.kill();
  });
});

describe("control plane", () => {
  it("lists by metadata exactly the matching sandboxes, across pages", async () => {
    const tag = `list-${Date.now()}`;
    const mine = await Promise.all([create({ tag, who: "me" }), create({ tag, who: "me" }), create({ tag, who: "me" })]);
    const other = await create({ tag, who: "someone else" });
    const found: string[] = [];
    const pager = Sandbox.list({ ...opts, query: { metadata: { tag, who: "me" }, state: ["running"] }, limit: 2 });
    let pages = 0;
    while (pager.hasNext) {
      const items = await pager.nextItems();
      pages++;
      for (const s of items) {
        expect(s.metadata).toEqual({ tag, who: "me" });
        expect(s.state).toBe("running");
        found.push(s.sandboxId);
      }
    }
    expect(pages).toBe(2);
    expect(found.sort()).toEqual(mine.map((s) => s.sandboxId).sort());
    const paused = Sandbox.list({ ...opts, query: { metadata: { tag }, state: ["paused"] } });
    expect(await paused.nextItems()).toEqual([]);
    await Promise.all([...mine, other].map((s) => s.kill()));
  });

  it("matches metadata values with spaces, slashes, '=' and '&'", async () => {
    const metadata = { "lakitu.session": "a b/c=d&e", é: "ü" };
    const sbx = await create(metadata);
    const items = await Sandbox.list({ ...opts, query: { metadata } }).nextItems();
    expect(items.map((s) => s.sandboxId)).toEqual([sbx.sandboxId]);
    await sbx.kill();
  });

  it("answers getInfo and connect for a running sandbox", async () => {
    const sbx = await create({ run, info: "1" });
    const info = await Sandbox.getInfo(sbx.sandboxId, opts);
    expect(info).toMatchObject({ sandboxId: sbx.sandboxId, templateId: "lakitu", state: "running", metadata: { run, info: "1" } });
    expect(info.endAt.getTime()).toBeGreaterThan(Date.now() + 100_000);
    const again = await Sandbox.connect(sbx.sandboxId, opts);
    expect((await again.commands.run("echo via-connect")).stdout).toBe("via-connect\n");
    expect(await sbx.isRunning()).toBe(true);
    await sbx.kill();
  });

  it("kills: true then false, the process tree is gone and the workspace removed", async () => {
    const sbx = await create();
    await sbx.commands.run("sleep 100 & sleep 100; true", { background: true, timeoutMs: 0 });
    const s = await waitFor("three processes", () => {
      const found = summary(sbx.sandboxId);
      return found && found.pids.length >= 3 ? found : undefined;
    });
    expect(allGone(s.pids)).toBe(false);
    expect(existsSync(s.workspace)).toBe(true);
    expect(await Sandbox.kill(sbx.sandboxId, opts)).toBe(true);
    expect(allGone(s.pids)).toBe(true);
    expect(existsSync(s.dir)).toBe(false);
    expect(await Sandbox.kill(sbx.sandboxId, opts)).toBe(false);
    await expect(Sandbox.getInfo(sbx.sandboxId, opts)).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await sbx.isRunning()).toBe(false);
    await expect(sbx.commands.run("true")).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("kills the sandbox when a shortened timeout passes", async () => {
    const sbx = await create();
    await sbx.commands.run("sleep 100", { background: true, timeoutMs: 0 });
    const s = await waitFor("a process", () => {
      const found = summary(sbx.sandboxId);
      return found && found.pids.length > 0 ? found : undefined;
    });
    await Sandbox.setTimeout(sbx.sandboxId, 1_000, opts);
    expect((await Sandbox.getInfo(sbx.sandboxId, opts)).endAt.getTime()).toBeLessThan(Date.now() + 1_500);
    await waitFor("timeout kill", () => (summary(sbx.sandboxId) === undefined && !existsSync(s.dir) ? true : undefined), 5_000);
    expect(allGone(s.pids)).toBe(true);
    await expect(Sandbox.getInfo(sbx.sandboxId, opts)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("reports a sandbox whose directory vanished as gone", async () => {
    const sbx = await create();
    const { rmSync } = await import("node:fs");
    rmSync(summary(sbx.sandboxId)!.dir, { recursive: true, force: true });
    await expect(Sandbox.getInfo(sbx.sandboxId, opts)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("keeps a sandbox running after its processes exit (as E2B's VM does)", async () => {
    const sbx = await create();
    await sbx.commands.run("true");
    expect(summary(sbx.sandboxId)!.commands).toEqual([]);
    // Under bwrap only the sandbox's init is left (bwrap's pid 1 and `sleep infinity`), as envd is in a VM.
    const names = summary(sbx.sandboxId)!.pids.map((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim()).sort();
    expect(names).toEqual(host.isolation === "bwrap" ? ["bwrap", "sleep"] : []);
    expect((await Sandbox.getInfo(sbx.sandboxId, opts)).state).toBe("running");
    await sbx.kill();
  });

  it("refuses pause with a clear error", async () => {
    const sbx = await create();
    await expect(Sandbox.pause(sbx.sandboxId, opts)).rejects.toThrow(/pause is not supported/);
    await expect(create({ run }, { lifecycle: { onTimeout: "pause" } })).rejects.toThrow(/pause is not supported/);
    await sbx.kill();
  });

  it("answers 404 for a template it does not accept", async () => {
    const err = await Sandbox.create("no-such-template", opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxError);
    expect(String(err)).toMatch(/404.*no-such-template/);
  });

  it("requires the API key (AuthenticationError) and the envd access token (401)", async () => {
    const bad = { ...opts, apiKey: "e2b_wrong" };
    await expect(Sandbox.create("lakitu", bad)).rejects.toBeInstanceOf(AuthenticationError);
    await expect(Sandbox.list(bad).nextItems()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(Sandbox.kill("whatever", bad)).rejects.toBeInstanceOf(AuthenticationError);
    const sbx = await create();
    const envd = (token: string) => fetch(`${host.url}/health`, { headers: { "e2b-sandbox-id": sbx.sandboxId, "x-access-token": token } });
    expect((await envd("wrong")).status).toBe(401);
    const info = await Sandbox.getInfo(sbx.sandboxId, opts);
    expect(info.sandboxId).toBe(sbx.sandboxId);
    await sbx.kill();
    expect((await envd("wrong")).status).toBe(502);
  });
});

describe("capacity", () => {
  it("answers 429 with Retry-After beyond maxSandboxes (RateLimitError), and frees the slot on kill", async () => {
    const small = await startSandboxHost({ root: tempRoot("cap"), maxSandboxes: 2, retryAfterSeconds: 1, warn: () => {} });
    const o = { apiKey: small.apiKey, apiUrl: small.url, sandboxUrl: small.url };
    try {
      const a = await Sandbox.create("lakitu", o);
      await Sandbox.create("lakitu", o);
      const err = await Sandbox.create("lakitu", { ...o, retries: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      const raw = await fetch(`${small.url}/v2/sandboxes`, {
        method: "POST",
        headers: { "x-api-key": small.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ templateID: "lakitu" }),
      });
      expect(raw.status).toBe(429);
      expect(raw.headers.get("retry-after")).toBe("1");
      // The SDK's own retry (on 429 with Retry-After) succeeds once a slot frees up.
      const retried = Sandbox.create("lakitu", o);
      await new Promise((r) => setTimeout(r, 300));
      await a.kill();
      expect((await retried).sandboxId).toBeTruthy();
    } finally {
      await small.close();
    }
    expect(small.list()).toEqual([]);
  });

  it("limits concurrently running commands per sandbox", async () => {
    const small = await startSandboxHost({ root: tempRoot("cmds"), maxCommandsPerSandbox: 2, warn: () => {} });
    const o = { apiKey: small.apiKey, apiUrl: small.url, sandboxUrl: small.url };
    try {
      const sbx = await Sandbox.create("lakitu", o);
      await sbx.commands.run("sleep 30", { background: true });
      await sbx.commands.run("sleep 30", { background: true });
      await expect(sbx.commands.run("true")).rejects.toBeInstanceOf(RateLimitError);
    } finally {
      await small.close();
    }
  });
});

describe("close", () => {
  it("kills every sandbox and removes their directories", async () => {
    const h = await startSandboxHost({ root: tempRoot("close"), warn: () => {} });
    const o = { apiKey: h.apiKey, apiUrl: h.url, sandboxUrl: h.url };
    const sbx = await Sandbox.create("lakitu", o);
    await sbx.commands.run("sleep 100", { background: true, timeoutMs: 0 });
    const s = await waitFor("a process", () => {
      const found = h.list()[0];
      return found && found.pids.length > 0 ? found : undefined;
    });
    await h.close();
    expect(allGone(s.pids)).toBe(true);
    expect(existsSync(s.dir)).toBe(false);
  });
});
