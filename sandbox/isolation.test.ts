/**
 * What a sandbox can and cannot reach under bubblewrap, checked from inside with the real SDK. Skipped
 * only when no `bwrap` binary is installed; a bwrap that is installed but cannot start sandboxes fails.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CommandExitError, FileNotFoundError, Sandbox, SandboxError } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { IsolationUnavailableError, NO_ISOLATION_WARNING } from "./isolation.js";
import { bwrapInstalled, tempRoot } from "./testing/helpers.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SECRET_NAME = "LAKITU_TEST_HOST_SECRET";
const SECRET = `host-secret-${Math.random().toString(36).slice(2)}`;
const HAS_BWRAP = bwrapInstalled();
/**
 * The Node install that runs the host (`<prefix>` of `<prefix>/bin/node`): every sandbox sees it
 * read-only at its host path, so the directories on the way to it exist inside (e.g. a Node kept in the
 * repo's `.cache/`, or under `/root/.nvm`).
 */
const nodeInstall = (() => {
  const binDir = path.dirname(process.execPath);
  return path.basename(binDir) === "bin" ? path.dirname(binDir) : binDir;
})();
/** What `ls -A dir` may show inside a sandbox: the next step towards the Node install, or nothing. */
function towardNodeInstall(dir: string): string[] {
  const rel = path.relative(dir, nodeInstall);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? [rel.split(path.sep)[0]!] : [];
}

/** Runs `cmd` and returns its result, or the CommandExitError's result when it fails. */
async function sh(sbx: Sandbox, cmd: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  try {
    return await sbx.commands.run(cmd);
  } catch (e) {
    if (e instanceof CommandExitError) return { exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr };
    throw e;
  }
}

describe.skipIf(!HAS_BWRAP)("bwrap isolation (skipped only when bwrap is not installed)", () => {
  let host: SandboxHost;
  let sbx: Sandbox;
  let runtimeDir: string;
  const opts = () => ({ apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
  const workspace = () => host.list().find((s) => s.sandboxId === sbx.sandboxId)!.workspace;

  beforeAll(async () => {
    process.env[SECRET_NAME] = SECRET;
    runtimeDir = tempRoot("runtime");
    mkdirSync(path.join(runtimeDir, "runtime"));
    writeFileSync(path.join(runtimeDir, "runtime", "main.js"), "console.log('runtime ok', process.env.SESSION_ONLY)\n");
    chmodSync(runtimeDir, 0o755); // mounts must be readable by the sandboxes' own uids (host as root)
    host = await startSandboxHost({
      root: tempRoot("iso"),
      isolation: "auto",
      mounts: [{ hostPath: runtimeDir, sandboxPath: "/opt/lakitu" }],
      warn: () => {},
    });
    // Installed but unusable (e.g. user namespaces disabled) must fail here, not silently skip.
    expect(host.isolation).toBe("bwrap");
    sbx = await Sandbox.create("lakitu", { ...opts(), timeoutMs: 120_000 });
  }, 30_000);
  afterAll(async () => {
    delete process.env[SECRET_NAME];
    await host?.close();
  });

  it("hides the host's files: the repo, /root, other sandboxes' directories", async () => {
    expect(existsSync(path.join(repoRoot, "package.json"))).toBe(true);
    const cat = await sh(sbx, `cat ${path.join(repoRoot, "package.json")}`);
    expect(cat.exitCode).not.toBe(0);
    expect(cat.stdout).toBe("");
    // The repo and /root are absent or empty, but for the way to the Node install.
    for (const dir of ["/root", repoRoot]) {
      const ls = await sh(sbx, `ls -A ${dir} 2>/dev/null`);
      expect(ls.exitCode === 0 ? ls.stdout.split("\n").filter(Boolean) : [], dir).toEqual(towardNodeInstall(dir));
    }
    const sandboxes = await sh(sbx, `ls ${host.root}`);
    expect(sandboxes.exitCode).not.toBe(0);
    const top = repoRoot.split("/")[1]!;
    const sandboxOwn = ["home", "tmp", "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "opt"];
    if (!sandboxOwn.includes(top) && !towardNodeInstall("/").includes(top))
      expect((await sh(sbx, "ls /")).stdout.split("\n").filter(Boolean).sort()).not.toContain(top);
  });

  it("passes no host environment: only PATH, HOME, LANG, the bridge socket, the agent user (own uids) and the given envs", async () => {
    expect(process.env[SECRET_NAME]).toBe(SECRET);
    const env = await sbx.commands.run("env", { envs: { SESSION_ONLY: "yes" } });
    expect(env.stdout).not.toContain(SECRET);
    expect(env.stdout).not.toContain(SECRET_NAME);
    const names = env.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("=")[0])
      .filter((n) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(n!)); // set by bash itself
    // LAKITU_AGENT_USER only where the sandbox has its own uids (a host running as root).
    const agentUser = process.getuid?.() === 0 ? ["LAKITU_AGENT_USER"] : [];
    expect(names.sort()).toEqual(["HOME", "LAKITU_COMPONENT_SOCKET", ...agentUser, "LANG", "PATH", "SESSION_ONLY"].sort());
  });

  it("makes the system read-only", async () => {
    for (const target of ["/usr/x", "/etc/x", "/etc/ssl/x", "/x", "/home/x", "/opt/lakitu/x", "/etc/passwd"]) {
      const r = await sh(sbx, `echo pwned > ${target}`);
      expect(r.exitCode, target).not.toBe(0);
    }
    expect(existsSync("/usr/x")).toBe(false);
    expect(existsSync("/etc/x")).toBe(false);
  });

  it("gives a private /tmp that persists across the sandbox's commands but is not the host's", async () => {
    const name = `lakitu-iso-${Date.now()}`;
    expect((await sh(sbx, `echo private > /tmp/${name}`)).exitCode).toBe(0);
    expect((await sh(sbx, `cat /tmp/${name}`)).stdout).toBe("private\n");
    expect(existsSync(path.join(os.tmpdir(), name))).toBe(false);
    expect(existsSync(path.join("/tmp", name))).toBe(false);
  });

  it("writes in the workspace, visible in the host's workspace directory", async () => {
    expect((await sh(sbx, "echo made-inside > /home/user/workspace/inside.txt")).exitCode).toBe(0);
    expect(readFileSync(path.join(workspace(), "inside.txt"), "utf8")).toBe("made-inside\n");
    writeFileSync(path.join(workspace(), "from-host.txt"), "host");
    expect((await sh(sbx, "cat workspace/from-host.txt")).stdout).toBe("host");
  });

  it("runs node and the read-only mounted runtime, as user (uid 1000) in the sandbox's own pid namespace", async () => {
    expect((await sbx.commands.run("node -e 'console.log(1 + 1)'")).stdout).toBe("2\n");
    expect((await sbx.commands.run("node /opt/lakitu/runtime/main.js", { envs: { SESSION_ONLY: "s" } })).stdout).toBe("runtime ok s\n");
    expect((await sbx.commands.run("id -un; id -u")).stdout).toBe("user\n1000\n");
    // Only the sandbox's processes are visible: bwrap's init (pid 1), its sleep (2), then the command
    // (bash exec'd ps), whose parent (nsenter, on the host) is outside the namespace.
    const ps = (await sbx.commands.run("ps -eo pid=,ppid=,args=")).stdout.split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/));
    expect(ps.map((f) => f.slice(0, 2).join(" "))).toEqual(["1 0", "2 1", expect.stringMatching(/^\d+ 0$/)]);
    expect(ps[0]![2]).toMatch(/bwrap$/);
    expect(ps[1]!.slice(2).join(" ")).toBe("sleep infinity");
    expect(ps[2]!.slice(2).join(" ")).toBe("ps -eo pid=,ppid=,args=");
  });

  it("has no network: the host's loopback services are refused, only lo exists", async () => {
    const r = await sh(sbx, `node -e "fetch('${host.url}/v2/sandboxes').then(r => console.log(r.status), e => console.log(e.cause.code))"`);
    expect(r.stdout).toBe("ECONNREFUSED\n");
    const dev = (await sh(sbx, "tail -n +3 /proc/net/dev")).stdout;
    expect(
      dev
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(":")[0]!.trim()),
    ).toEqual(["lo"]);
  });

  it("does not follow the sandbox's symlinks out of it through the files API", async () => {
    await sh(sbx, "ln -sf /etc/hostname /home/user/workspace/link-file && ln -sfn /usr /home/user/workspace/link-dir");
    // Inside, the links point at the sandbox's own (read-only) /etc and /usr; on the host the same
    // paths are the host's: the host must not read or write through them.
    await expect(sbx.files.read("/home/user/workspace/link-file")).rejects.toBeInstanceOf(SandboxError);
    await expect(sbx.files.write("/home/user/workspace/link-file", "x")).rejects.toBeInstanceOf(SandboxError);
    await expect(sbx.files.write("/home/user/workspace/link-dir/evil", "x")).rejects.toBeInstanceOf(SandboxError);
    expect(existsSync("/usr/evil")).toBe(false);
    await expect(sbx.files.read("/home/user/workspace/missing")).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it("runs each sandbox as its own host uid when the host is root", async () => {
    const s = host.list().find((x) => x.sandboxId === sbx.sandboxId)!;
    if (process.getuid?.() !== 0) {
      expect(s.uid).toBeUndefined();
      return;
    }
    expect(s.uid).toBeGreaterThanOrEqual(1_000_000);
    expect(statSync(path.join(workspace(), "inside.txt")).uid).toBe(s.uid);
    await sbx.files.write("/home/user/workspace/by-host.txt", "x");
    expect(statSync(path.join(workspace(), "by-host.txt")).uid).toBe(s.uid);
    expect((await sh(sbx, "echo more >> by-host.txt")).exitCode).toBe(0);
  });
});

describe("without isolation", () => {
  it("runs only when chosen explicitly, with a warning, in the home directory with a scrubbed environment", async () => {
    const warnings: string[] = [];
    process.env[SECRET_NAME] = SECRET;
    const host = await startSandboxHost({ root: tempRoot("none"), isolation: "none", warn: (m) => warnings.push(m) });
    try {
      expect(host.isolation).toBe("none");
      expect(host.network).toBe("shared");
      expect(warnings).toContain(NO_ISOLATION_WARNING);
      const sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
      const r = await sbx.commands.run("pwd; env", { envs: { GIVEN: "1" } });
      const s = host.list()[0]!;
      expect(r.stdout.split("\n")[0]).toBe(path.join(s.dir, "home"));
      expect(r.stdout).toContain("GIVEN=1");
      expect(r.stdout).not.toContain(SECRET);
    } finally {
      delete process.env[SECRET_NAME];
      await host.close();
    }
  });

  it("refuses to start with isolation 'auto' (the default) when bwrap is missing: it never fails open", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const started = startSandboxHost({ root: tempRoot("nobwrap"), warn: () => {} });
      await expect(started).rejects.toBeInstanceOf(IsolationUnavailableError);
      await expect(started).rejects.toMatchObject({ code: "isolation_unavailable" });
      await expect(started).rejects.toThrow(/apt-get install -y bubblewrap.*isolation 'none' explicitly/s);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("refuses to start with isolation 'auto' when bwrap is installed but broken", async () => {
    const fake = tempRoot("fakebwrap");
    writeFileSync(path.join(fake, "bwrap"), "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const savedPath = process.env.PATH;
    process.env.PATH = `${fake}:${savedPath}`;
    try {
      await expect(startSandboxHost({ root: tempRoot("brokenbwrap"), warn: () => {} })).rejects.toThrow(
        /bubblewrap is installed but failed to start a sandbox.*Permission denied.*isolation 'none' explicitly/s,
      );
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("refuses to start with isolation 'bwrap' when bwrap is missing", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startSandboxHost({ root: tempRoot("nobwrap2"), isolation: "bwrap", warn: () => {} })).rejects.toThrow(/bubblewrap/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
