/**
 * How a sandbox command is started: inside bubblewrap (`bwrap`) when available, else directly with a
 * scrubbed environment and one loud warning.
 *
 * Inside bwrap a command sees: the host's `/usr` (and `/bin`, `/sbin`, `/lib*`, as the host has them),
 * a handful of `/etc` files programs need (TLS roots, resolver, hosts, ld.so cache, alternatives), a
 * synthetic `/etc/passwd` and `/etc/group` (`user`, uid 1000), the Node install that runs the host, the
 * configured read-only `mounts`, and — writable — only its sandbox's `/home/user`, `/home/user/workspace`
 * and `/tmp`. Fresh `/proc` and `/dev`; new user, pid, ipc, uts (and cgroup) namespaces; no capabilities;
 * dies with the host. The network namespace is shared on purpose: the runtime calls the component on the
 * host's loopback.
 *
 * The environment is exactly PATH, HOME, LANG plus the sandbox's and the command's envs. It is given to
 * the spawned process as its environment, not as `--setenv` arguments, so secrets never appear in a
 * command line (`/proc/<pid>/cmdline` is world-readable).
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, statSync } from "node:fs";
import { chown, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { SANDBOX_HOME, SANDBOX_TMP, SANDBOX_WORKSPACE, type SandboxDirs } from "./sandboxPaths.js";

export type IsolationMode = "auto" | "bwrap" | "none";
/** A read-only host directory (or file) visible inside every sandbox at `sandboxPath` (bwrap only). */
export type ReadOnlyMount = { hostPath: string; sandboxPath: string };

export const NO_BWRAP_WARNING =
  "lakitu sandbox: bubblewrap (bwrap) not found — sandboxes are NOT isolated; install it with apt-get install -y bubblewrap";

const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** `/etc` entries programs commonly need; bound read-only when the host has them. Nothing with secrets. */
const ETC_ENTRIES = [
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
  "/etc/ca-certificates",
  "/etc/ca-certificates.conf",
  "/etc/pki/tls/certs",
  "/etc/pki/ca-trust",
  "/etc/crypto-policies",
  "/etc/alternatives",
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/localtime",
  "/etc/timezone",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/protocols",
  "/etc/services",
  "/etc/mime.types",
  "/etc/os-release",
];
const SANDBOX_UID = 1000;
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PASSWD = `root:x:0:0:root:/root:/bin/bash
user:x:${SANDBOX_UID}:${SANDBOX_UID}:user:${SANDBOX_HOME}:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
user:x:${SANDBOX_UID}:
nogroup:x:65534:
`;

/** What to spawn for one command. `uid`/`gid` set when the sandbox runs as its own host user. */
export type SpawnPlan = { file: string; args: string[]; env: Record<string, string>; cwd: string; uid?: number; gid?: number };

export type CommandSpec = {
  dirs: SandboxDirs;
  /** The sandbox's own host uid (host running as root), else undefined. */
  uid?: number;
  cmd: string;
  args: string[];
  /** Sandbox path of the working directory. */
  cwd: string;
  /** Host path of the working directory (none mode). */
  hostCwd?: string;
  envs: Record<string, string>;
};

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? BASE_PATH).split(":")) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(file: string, args: string[], opts: { uid?: number; gid?: number } = {}): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, env: { PATH: BASE_PATH }, ...opts }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() || (err ? err.message : "") });
    });
  });
}

/** Directory holding the Node install that runs the host (`<prefix>` of `<prefix>/bin/node`), unless under /usr. */
function nodeInstallDir(): { bind?: string; binDir: string } {
  const binDir = path.dirname(process.execPath);
  const prefix = path.basename(binDir) === "bin" ? path.dirname(binDir) : binDir;
  const covered = SYSTEM_DIRS.some((d) => prefix === d || prefix.startsWith(d + "/"));
  return { bind: covered || prefix === "/" ? undefined : prefix, binDir };
}

/** True when every ancestor of `p` can be traversed, and `p` read (or only traversed), by any user. */
export function worldReadable(p: string, traverseOnly = false): boolean {
  try {
    let current = path.resolve(p);
    const st = statSync(current);
    if (!traverseOnly && (st.mode & 0o004) === 0) return false;
    if (st.isDirectory() && (st.mode & 0o001) === 0) return false;
    while (current !== "/") {
      current = path.dirname(current);
      if ((statSync(current).mode & 0o001) === 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

export class Isolation {
  private constructor(
    readonly kind: "bwrap" | "none",
    private readonly bwrap: string | undefined,
    private readonly prlimit: string | undefined,
    private readonly setpriv: string | undefined,
    /** bwrap arguments that are the same for every command: namespaces and read-only binds. */
    private readonly fixedArgs: string[],
    /** Fork-bomb limit: processes per sandbox (own uid) or per command (shared uid, bwrap). */
    readonly maxProcesses: number,
    /** Why a sandbox cannot run as its own host uid (undefined when it can). */
    readonly perSandboxUidBlocker: string | undefined,
  ) {}

  /**
   * Picks the isolation for `mode`: `bwrap` requires a working bubblewrap (throws otherwise), `none` runs
   * commands directly, `auto` uses bwrap when it works and otherwise warns once and runs directly.
   */
  static async resolve(opts: {
    mode: IsolationMode;
    root: string;
    mounts: ReadOnlyMount[];
    maxProcesses: number;
    perSandboxUid: boolean;
    warn: (message: string) => void;
  }): Promise<Isolation> {
    const { mode, root, mounts, maxProcesses, warn } = opts;
    for (const m of mounts) {
      if (!path.isAbsolute(m.hostPath) || !path.isAbsolute(m.sandboxPath))
        throw new Error(`mount paths must be absolute: ${JSON.stringify(m)}`);
      if (!existsSync(m.hostPath)) throw new Error(`mount source does not exist: ${m.hostPath}`);
      const target = path.posix.normalize(m.sandboxPath);
      if (
        [SANDBOX_HOME, SANDBOX_TMP, "/proc", "/dev", "/etc/passwd", "/etc/group"].some(
          (p) => target === p || target.startsWith(p + "/") || p.startsWith(target + "/"),
        )
      ) {
        throw new Error(`mount target ${m.sandboxPath} overlaps a sandbox-managed path`);
      }
    }
    const etcDir = path.join(root, ".etc");
    await mkdir(etcDir, { recursive: true, mode: 0o755 });
    for (const [name, content] of [
      ["passwd", PASSWD],
      ["group", GROUP],
    ] as const) {
      const tmp = path.join(etcDir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}`);
      await writeFile(tmp, content, { mode: 0o644 });
      await rename(tmp, path.join(etcDir, name));
    }
    const prlimit = findOnPath("prlimit");
    const setpriv = findOnPath("setpriv");
    const isRoot = process.getuid?.() === 0;
    let blocker: string | undefined;
    if (!isRoot) blocker = "the host does not run as root";
    else if (!opts.perSandboxUid) blocker = "disabled by the perSandboxUid option";
    else {
      const install = nodeInstallDir();
      const needed = [install.bind ?? process.execPath, ...mounts.map((m) => m.hostPath)];
      const unreadable = worldReadable(root, true) ? needed.find((p) => !worldReadable(p)) : root;
      if (unreadable) blocker = `${unreadable} is not readable by other users`;
    }
    if (isRoot && opts.perSandboxUid && blocker)
      warn(`lakitu sandbox: sandboxes share the host's uid (${blocker}); the per-sandbox process limit is off`);

    const make = (kind: "bwrap" | "none", bwrap?: string, version: number[] = [], uidBlocker = blocker) =>
      new Isolation(
        kind,
        bwrap,
        prlimit,
        setpriv,
        kind === "bwrap" ? fixedBwrapArgs(version, etcDir, mounts) : [],
        maxProcesses,
        uidBlocker,
      );

    if (mode === "none") return make("none");
    const bwrap = findOnPath("bwrap");
    if (!bwrap) {
      if (mode === "bwrap")
        throw new Error("isolation 'bwrap' requested but bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap");
      warn(NO_BWRAP_WARNING);
      return make("none");
    }
    const versionText = (await run(bwrap, ["--version"])).output;
    const version = (versionText.match(/(\d+)\.(\d+)(?:\.(\d+))?/) ?? []).slice(1, 4).map((n) => Number(n ?? 0));
    const isolation = make("bwrap", bwrap, version);
    let probe = await isolation.probe(root);
    if (probe.ok) return isolation;
    if (isolation.usesOwnUids) {
      // Some hosts let root, but not other users, create user namespaces: isolate with the shared uid.
      const shared = make("bwrap", bwrap, version, `bwrap cannot start a sandbox as an unprivileged uid here (${probe.output})`);
      const second = await shared.probe(root);
      if (second.ok) {
        warn(`lakitu sandbox: sandboxes share the host's uid (${shared.perSandboxUidBlocker}); the per-sandbox process limit is off`);
        return shared;
      }
      probe = second;
    }
    const hint =
      `bwrap failed to start a sandbox: ${probe.output}. Unprivileged user namespaces may be disabled ` +
      "(Ubuntu ≥ 23.10: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; Docker: the default seccomp profile)";
    if (mode === "bwrap") throw new Error(`lakitu sandbox: ${hint}`);
    warn(`lakitu sandbox: ${hint} — sandboxes are NOT isolated`);
    return make("none");
  }

  get usesOwnUids(): boolean {
    return this.perSandboxUidBlocker === undefined;
  }

  /** Starts `true` in a throwaway sandbox to check that bwrap works here with these mounts. */
  private async probe(root: string): Promise<{ ok: boolean; output: string }> {
    const id = `.probe-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const dir = path.join(root, id);
    const dirs = { dir, home: path.join(dir, "home"), workspace: path.join(dir, "workspace"), tmp: path.join(dir, "tmp") };
    const uid = this.usesOwnUids ? randomUid() : undefined;
    try {
      await mkdir(dir, { mode: 0o711 });
      for (const d of [dirs.home, dirs.workspace, dirs.tmp]) {
        await mkdir(d, { mode: 0o700 });
        if (uid !== undefined) await chown(d, uid, uid);
      }
      const plan = this.plan({
        dirs,
        uid,
        cmd: "/bin/sh",
        args: ["-c", "test -w /home/user/workspace && test -w /tmp"],
        cwd: SANDBOX_WORKSPACE,
        envs: {},
      });
      return await run(plan.file, plan.args, { uid: plan.uid, gid: plan.gid });
    } catch (e) {
      return { ok: false, output: String(e) };
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** The environment of a command: PATH, HOME, LANG, then the sandbox's and the command's envs. */
  environment(spec: CommandSpec): Record<string, string> {
    const { binDir } = nodeInstallDir();
    const pathVar = BASE_PATH.split(":").includes(binDir) ? BASE_PATH : `${binDir}:${BASE_PATH}`;
    const base: Record<string, string> =
      this.kind === "bwrap"
        ? { PATH: pathVar, HOME: SANDBOX_HOME, LANG: "C.UTF-8" }
        : { PATH: pathVar, HOME: spec.dirs.home, TMPDIR: spec.dirs.tmp, LANG: "C.UTF-8" };
    return { ...base, ...spec.envs };
  }

  plan(spec: CommandSpec): SpawnPlan {
    const env = this.environment(spec);
    const ids = spec.uid !== undefined ? { uid: spec.uid, gid: spec.uid } : {};
    const nproc = `--nproc=${this.maxProcesses}:${this.maxProcesses}`;
    if (this.kind === "none") {
      // Direct: scrubbed env, workspace cwd; with an own uid the process limit holds for the whole sandbox.
      // setpriv --pdeathsig: the command dies with the host.
      const argv = [spec.cmd, ...spec.args];
      const wrapped = [
        ...(this.setpriv ? [this.setpriv, "--pdeathsig", "KILL", "--"] : []),
        ...(spec.uid !== undefined && this.prlimit ? [this.prlimit, nproc, "--"] : []),
        ...argv,
      ];
      return { file: wrapped[0]!, args: wrapped.slice(1), env, cwd: spec.hostCwd ?? spec.dirs.workspace, ...ids };
    }
    const args = [...this.fixedArgs];
    args.push(
      "--bind",
      spec.dirs.home,
      SANDBOX_HOME,
      "--bind",
      spec.dirs.workspace,
      SANDBOX_WORKSPACE,
      "--bind",
      spec.dirs.tmp,
      SANDBOX_TMP,
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      // bwrap's root is a tmpfs holding the mount points: read-only too, or it is writable memory.
      "--remount-ro",
      "/",
      "--chdir",
      spec.cwd,
      "--",
    );
    // With an own uid, prlimit runs outside (before bwrap creates the user namespace): the limit then
    // counts every process of that uid, i.e. the whole sandbox. With a shared uid it runs inside, where
    // the count is per user namespace, i.e. per command (root's processes are exempt, hence own uids).
    const innerPrlimit = spec.uid === undefined && this.prlimit && /^\/(usr\/)?s?bin\//.test(this.prlimit) && process.getuid?.() !== 0;
    const command = [...(innerPrlimit ? [this.prlimit!, nproc, "--"] : []), spec.cmd, ...spec.args];
    const outer = spec.uid !== undefined && this.prlimit ? [this.prlimit, nproc, "--", this.bwrap!] : [this.bwrap!];
    return { file: outer[0]!, args: [...outer.slice(1), ...args, ...command], env, cwd: "/", ...ids };
  }

  /** How processes are limited, for the host's report. */
  describeProcessLimit(): string {
    if (!this.prlimit) return "none (prlimit not found)";
    if (this.usesOwnUids) return `${this.maxProcesses} per sandbox (own uid + RLIMIT_NPROC)`;
    if (this.kind === "bwrap" && process.getuid?.() !== 0) return `${this.maxProcesses} per command (RLIMIT_NPROC in its user namespace)`;
    return `none (${this.perSandboxUidBlocker ?? "no own uid"})`;
  }
}

function fixedBwrapArgs(version: number[], etcDir: string, mounts: ReadOnlyMount[]): string[] {
  const [major = 0, minor = 0] = version;
  const args: string[] = [
    "--unshare-user",
    "--uid",
    String(SANDBOX_UID),
    "--gid",
    String(SANDBOX_UID),
    // bwrap >= 0.8: no nested user namespaces (they would reset the process limit's accounting).
    ...(major > 0 || minor >= 8 ? ["--disable-userns"] : []),
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    "sandbox",
    "--die-with-parent",
    "--new-session",
  ];
  for (const dir of SYSTEM_DIRS) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push("--ro-bind", dir, dir);
  }
  for (const entry of ETC_ENTRIES) if (existsSync(entry)) args.push("--ro-bind", entry, entry);
  args.push("--ro-bind", path.join(etcDir, "passwd"), "/etc/passwd", "--ro-bind", path.join(etcDir, "group"), "/etc/group");
  const install = nodeInstallDir();
  if (install.bind) args.push("--ro-bind", install.bind, install.bind);
  for (const m of mounts) args.push("--ro-bind", m.hostPath, m.sandboxPath);
  return args;
}

/** A uid no real account uses, for one sandbox (collisions between concurrent hosts are negligible). */
export function randomUid(): number {
  return 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
}
