/**
 * The executor as a boundary: agent code runs in another process (and, when the runtime is root, as
 * another uid), so the runtime's memory, environment and requests are out of its reach.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { networkIsolation, resolveAgentUser } from "./agentUser.js";
import { Executor, type Gateway } from "./executor.js";
import { FAKE_KSA } from "./testing/harness.js";

const isRoot = process.getuid?.() === 0;
const AGENT = { name: "agent-test", uid: 1001, gid: 1001 };
const SECRET = "runtime-secret-0123456789abcdef";

let ws: string;
const calls: Array<[string, string]> = [];
const gateway: Gateway = async (ksa, fn) => {
  calls.push([ksa, fn]);
  return "ok";
};

beforeAll(async () => {
  ws = await mkdtemp(join(tmpdir(), "lakitu-contain-"));
  await chmod(ws, 0o777);
  // The runtime's own environment holds a secret; agent code must not see it by any route.
  process.env.LAKITU_TOKEN = SECRET;
});
afterAll(async () => {
  delete process.env.LAKITU_TOKEN;
  await rm(ws, { recursive: true, force: true });
});

function executor(extra: Partial<ConstructorParameters<typeof Executor>[0]> = {}): Executor {
  return new Executor({
    workspace: ws,
    outputDir: join(ws, "out"),
    allowedKsas: ["file", "remote"],
    stageName: "contain",
    stepTimeoutMs: 20_000,
    maxOutputBytes: 64 * 1024,
    gateway,
    ksaModule: FAKE_KSA,
    secrets: [SECRET],
    ...extra,
  });
}

describe("the executor process", () => {
  it("is another process than the runtime, without the token in its environment", async () => {
    const ex = executor();
    try {
      const r = await ex.run(
        'const fs = require("node:fs");\nconsole.log(JSON.stringify({ pid: process.pid, ppid: process.ppid, env: fs.readFileSync("/proc/self/environ", "utf8") }));',
        { step: 1 },
      );
      const seen = JSON.parse(r.output) as { pid: number; ppid: number; env: string };
      expect(seen.pid).not.toBe(process.pid);
      expect(seen.ppid).toBe(process.pid);
      expect(seen.env).not.toContain(SECRET);
      expect(seen.env).not.toContain("LAKITU_");
    } finally {
      await ex.close();
    }
  });

  it("refuses KSA requests the stage does not allow, even when forged on the protocol channel", async () => {
    const ex = executor();
    try {
      calls.length = 0;
      const code = [
        "const fs = require('node:fs');",
        "fs.writeSync(3, JSON.stringify({ type: 'ksa', id: 900, ksa: 'shell', fn: 'run', args: {} }) + '\\n');",
        "fs.writeSync(3, JSON.stringify({ type: 'ksa', id: 901, ksa: 'remote', fn: 'echo', args: {} }) + '\\n');",
        "await new Promise((r) => setTimeout(r, 300));",
      ].join("\n");
      const r = await ex.run(code, { step: 2 });
      expect(r.ok).toBe(true);
      expect(calls).toEqual([["remote", "echo"]]);
    } finally {
      await ex.close();
    }
  });

  it("ends the step when the process breaks the protocol", async () => {
    const ex = executor();
    try {
      const r = await ex.run("require('node:fs').writeSync(3, 'not json\\n');\nawait new Promise(() => {});", { step: 3 });
      expect(r.error).toMatchObject({ kind: "crash", message: expect.stringContaining("broke the executor protocol (not JSON)") });
      // The next step runs in a fresh process.
      expect((await ex.run("console.log('fine')", { step: 4 })).output).toBe("fine\n");
      expect(ex.stats.boots).toBeGreaterThanOrEqual(2);
      expect(ex.stats.reusedSteps).toBe(0);
    } finally {
      await ex.close();
    }
  });

  it("reports a step that exceeds the heap limit as out of memory", async () => {
    const ex = executor({ maxHeapMb: 64 });
    try {
      const r = await ex.run("const keep: string[] = [];\nwhile (true) keep.push('x'.repeat(1024) + keep.length);", { step: 4 });
      expect(r.error).toMatchObject({ kind: "crash", message: "the step ran out of memory (heap limit 64 MiB)" });
    } finally {
      await ex.close();
    }
  });
});

describe.runIf(isRoot)("under the agent user (the runtime is root)", () => {
  it("agent code runs as the agent uid and cannot read the runtime's environment or memory", async () => {
    const ex = executor({ agentUser: AGENT });
    try {
      const code = [
        "const fs = require('node:fs');",
        "const tryRead = (p: string) => { try { fs.readFileSync(p); return 'read'; } catch (e: any) { return e.code; } };",
        "fs.writeFileSync('agent-wrote.txt', 'x');",
        "console.log(JSON.stringify({ uid: process.getuid(), environ: tryRead(`/proc/${process.ppid}/environ`), mem: tryRead(`/proc/${process.ppid}/mem`) }));",
      ].join("\n");
      const r = await ex.run(code, { step: 1 });
      expect(r.error).toBeUndefined();
      expect(JSON.parse(r.output)).toEqual({ uid: AGENT.uid, environ: "EACCES", mem: "EACCES" });
    } finally {
      await ex.close();
    }
  });

  it("a daemon the step started, even in its own session, dies with the step", async () => {
    const ex = executor({ agentUser: AGENT });
    try {
      const code = [
        "const { spawn } = require('node:child_process');",
        "const d = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });",
        "d.unref();",
        "console.log(d.pid, process.pid);",
      ].join("\n");
      const r = await ex.run(code, { step: 2 });
      const [pid, executorPid] = r.output.trim().split(" ").map(Number);
      expect(pid).toBeGreaterThan(0);
      let alive = true;
      for (let i = 0; i < 50 && alive; i++) {
        try {
          process.kill(pid!, 0);
          await new Promise((res) => setTimeout(res, 100));
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
      // The sweep spared the executor itself: the next step runs in it, as the agent user.
      const next = await ex.run("console.log(process.pid, process.getuid())", { step: 3 });
      expect(next.output.trim()).toBe(`${executorPid} ${AGENT.uid}`);
    } finally {
      await ex.close();
    }
  });
});

describe.runIf(isRoot)("without network (the runtime can unshare)", () => {
  it("agent code cannot reach a loopback server the runtime can reach", async () => {
    const server = createServer((_req, res) => res.end("reachable"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const code = [
      "const net = require('node:net');",
      `const s = net.connect(${port}, '127.0.0.1');`,
      "console.log(await new Promise((r) => { s.on('connect', () => r('connected')); s.on('error', (e: any) => r(e.code)); }));",
    ].join("\n");
    const unshare = networkIsolation();
    expect(unshare).toBeDefined();
    // One executor at a time: each sweeps the agent user's processes after its step.
    const contained = executor({ agentUser: AGENT, unshare });
    try {
      expect((await contained.run(code, { step: 1 })).output.trim()).toBe("ENETUNREACH");
    } finally {
      await contained.close();
    }
    const open = executor({ agentUser: AGENT });
    try {
      // The same code with the sandbox's network: the check above is not vacuous.
      expect((await open.run(code, { step: 1 })).output.trim()).toBe("connected");
    } finally {
      await open.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("resolveAgentUser", () => {
  const passwd = "root:x:0:0::/root:/bin/sh\nlakitu-agent:x:1001:1000::/home/user/workspace:/usr/sbin/nologin\n";
  it("finds the user and requires the runtime to be root", () => {
    expect(resolveAgentUser("lakitu-agent", { passwd, uid: 0 })).toEqual({ ok: true, user: { name: "lakitu-agent", uid: 1001, gid: 1000 } });
    expect(resolveAgentUser("lakitu-agent", { passwd, uid: 1000 })).toEqual({ ok: false, problem: expect.stringContaining("runs as uid 1000, not root") });
    expect(resolveAgentUser("nobody-here", { passwd, uid: 0 })).toEqual({ ok: false, problem: 'the agent user "nobody-here" is not in /etc/passwd' });
    expect(resolveAgentUser("root", { passwd, uid: 0 })).toEqual({ ok: false, problem: 'the agent user "root" is root' });
  });
});
