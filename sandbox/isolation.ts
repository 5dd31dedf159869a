/**
 * How a sandbox command is started: inside bubblewrap (`bwrap`); without it only when isolation `none`
 * was chosen explicitly (then directly, with a scrubbed environment and a loud warning). Isolation never
 * fails open: with `auto` or `bwrap`, a missing or broken bwrap stops the host from starting.
 *
 * A sandbox's namespaces are made once, by its init under bwrap (sandboxInit.ts, its arguments in
 * bwrapArgs.ts); every command joins them with nsenter, so the commands of a sandbox share its pid,
 * mount and network namespaces.
 *
 * Inside bwrap a command sees: the host's `/usr` (and `/bin`, `/sbin`, `/lib*`, as the host has them),
 * a handful of `/etc` files programs need (TLS roots, resolver, hosts, ld.so cache, alternatives), a
 * synthetic `/etc/passwd` and `/etc/group` (root 0, user 1000, lakitu-agent 1001; sandboxUsers.ts), the
 * Node install that runs the host, the configured read-only `mounts`, and — writable — only its
 * sandbox's `/home/user`, `/home/user/workspace`, `/tmp`, `/root` and `/run/lakitu` (the component
 * bridge socket, componentBridge.ts). Fresh `/proc` and `/dev`; new pid, ipc, uts (and cgroup)
 * namespaces; no network but `lo` (`--unshare-net`) unless the host shares its network explicitly; no
 * nested user namespaces; dies with the host.
 *
 * Users. Host running as root: the sandbox's user namespace maps its 0, 1000 and 1001 onto three host
 * uids of its own (userNamespace.ts); its init (bwrap) keeps no capability; a `user: "root"` command
 * keeps only what the runtime needs to start and stop agent code as lakitu-agent and to manage its
 * files (ROOT_CAPABILITIES); a `user` command switches to 1000 without any (setpriv). Host not root:
 * one unprivileged user namespace (`--unshare-user`) with a single uid, and each command a nested one
 * mapping it to 0 for `root` or 1000 for `user`, without capabilities; the three users are then one
 * host uid (nothing separates them).
 *
 * The environment is exactly PATH, HOME, LANG (plus LAKITU_COMPONENT_SOCKET when the bridge is there)
 * and the sandbox's and the command's envs. It is given to the spawned process as its environment, not
 * as `--setenv` arguments, so secrets never appear in a command line (`/proc/<pid>/cmdline` is
 * world-readable).
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { BASE_PATH, fixedBwrapArgs, initBwrapArgs, nodeInstallDir } from "./bwrapArgs.js";
import { COMPONENT_SOCKET, COMPONENT_SOCKET_ENV } from "./componentBridge.js";
import {
  createSandboxDirs,
  SANDBOX_HOME,
  SANDBOX_ROOT_HOME,
  SANDBOX_RUN,
  SANDBOX_TMP,
  SANDBOX_WORKSPACE,
  type SandboxDirs,
} from "./sandboxPaths.js";
import { AGENT_NAME, allocateHostIds, GROUP, hostIdOf, PASSWD, type HostIds, type SandboxUser } from "./sandboxUsers.js";
import { enterArgv, SandboxInit } from "./sandboxInit.js";
import { HANDSHAKE_FD, mapUserNamespace, userNamespacePrefix } from "./userNamespace.js";

export type IsolationMode = "auto" | "bwrap" | "none";
/** Whether sandboxes get their own network namespace (only `lo`) or share the host's. */
export type NetworkMode = "isolated" | "shared";
/** A read-only host directory (or file) visible inside every sandbox at `sandboxPath` (bwrap only). */
export type ReadOnlyMount = { hostPath: string; sandboxPath: string };

const INSTALL_HINT =
  "install it (Debian/Ubuntu: apt-get install -y bubblewrap; Fedora: dnf install bubblewrap) and make sure unprivileged " +
  "user namespaces are allowed (Ubuntu >= 23.10: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; Docker: the " +
  "default seccomp profile blocks them). To run sandboxes WITHOUT isolation, choose isolation 'none' explicitly " +
  "(lakitu sandbox serve --isolation none)";
/** The refusal when bubblewrap is not installed (isolation `auto` or `bwrap`). */
export const NO_BWRAP_ERROR = `lakitu sandbox: bubblewrap (bwrap) is not installed, so sandboxes cannot be isolated; ${INSTALL_HINT}`;
/** The warning of isolation `none` (chosen explicitly). */
export const NO_ISOLATION_WARNING =
  "lakitu sandbox: isolation 'none' — sandboxes are NOT isolated (host files, network and processes are reachable); install bubblewrap (apt-get install -y bubblewrap) and use isolation 'auto'";
/** @deprecated the warning of isolation `none`; `auto` no longer falls back to it. */
export const NO_BWRAP_WARNING = NO_ISOLATION_WARNING;

/** Error of a host that cannot isolate sandboxes; `code` for callers that map it (CLI, tests). */
export class IsolationUnavailableError extends Error {
  readonly code = "isolation_unavailable";
}

/**
 * Capabilities a `user: "root"` command keeps (own-uid sandboxes): start agent code as lakitu-agent
 * (SETUID, SETGID), stop it (KILL), and read, remove or hand over the files it wrote in the workspace
 * and /tmp (DAC_OVERRIDE, FOWNER, CHOWN). All only over the sandbox's own user namespace.
 */
export const ROOT_CAPABILITIES = ["CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_CHOWN"];


/**
 * What to spawn for one command. `uid`/`gid` set when the sandbox runs as its own host users;
 * `handshake` set when the spawned process waits on fd 3 for the host to map its user namespace.
 */
export type SpawnPlan = {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  handshake?: (pid: number, release: () => void) => Promise<void>;
  /** Set when the process writes its in-sandbox pid as the first line of its stdout, before the command runs. */
  reportsPid?: boolean;
  /** Host fds the process gets as its fds 3, 4, … (the sandbox init's handles; sandboxInit.ts). */
  fds?: number[];
};

export type CommandSpec = {
  dirs: SandboxDirs;
  /** The sandbox's own host uids (host running as root), else undefined. */
  ids?: HostIds;
  /** Who runs the command. Default `user`. */
  user?: SandboxUser;
  cmd: string;
  args: string[];
  /** Sandbox path of the working directory. */
  cwd: string;
  /** Host path of the working directory (none mode). */
  hostCwd?: string;
  envs: Record<string, string>;
  /** True when the sandbox has a component bridge socket (in `dirs.run`). */
  bridge?: boolean;
  /** Size of the command's /dev/shm tmpfs, bytes (bwrap); undefined leaves bwrap's /dev as is. */
  shmBytes?: number;
  /** RLIMIT_FSIZE of the command, bytes: no file it writes grows past this. */
  maxFileBytes?: number;
  /** bwrap: the sandbox's init, whose namespaces (`handles`) the command joins. */
  init?: Pick<SandboxInit, "handles" | "ownUserNamespace">;
};

/** What the init of a sandbox needs (bwrap): its directories, users, bridge and /dev/shm size. */
export type InitSpec = Pick<CommandSpec, "dirs" | "ids" | "bridge" | "shmBytes">;

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

/** Runs a plan to completion (with its user-namespace handshake), collecting its output. */
function runPlan(plan: SpawnPlan, timeoutMs = 10_000): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(plan.file, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      uid: plan.uid,
      gid: plan.gid,
      stdio: ["ignore", "pipe", "pipe", ...(plan.handshake ? (["pipe"] as const) : plan.fds ?? [])],
    });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, output: e.message });
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output: output.trim() || `exit ${code ?? sig}` });
    });
    if (plan.handshake && child.pid !== undefined) {
      const fd3 = child.stdio[HANDSHAKE_FD] as Writable;
      plan
        .handshake(child.pid, () => fd3.end("go\n"))
        .catch((e: unknown) => {
          output += String(e);
          child.kill("SIGKILL");
        });
    }
  });
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

type Tools = { bwrap?: string; prlimit?: string; setpriv?: string; unshare?: string; nsenter?: string };

export class Isolation {
  private constructor(
    readonly kind: "bwrap" | "none",
    private readonly tools: Tools,
    /** bwrap arguments that are the same for every command: namespaces and read-only binds. */
    private readonly fixedArgs: string[],
    /** Fork-bomb limit: processes per sandbox uid (own uids) or per command (shared uid, bwrap). */
    readonly maxProcesses: number,
    /** Why a sandbox cannot run as its own host uids (undefined when it can). */
    readonly perSandboxUidBlocker: string | undefined,
    readonly network: NetworkMode,
  ) {}

  /**
   * Picks the isolation for `mode`: `auto` and `bwrap` require a working bubblewrap and throw
   * `IsolationUnavailableError` (saying how to install it) otherwise; `none` runs commands directly,
   * with a warning.
   */
  static async resolve(opts: {
    mode: IsolationMode;
    root: string;
    mounts: ReadOnlyMount[];
    maxProcesses: number;
    perSandboxUid: boolean;
    network?: NetworkMode;
    warn: (message: string) => void;
  }): Promise<Isolation> {
    const { mode, root, mounts, maxProcesses, warn } = opts;
    const network = opts.network ?? "isolated";
    for (const m of mounts) {
      if (!path.isAbsolute(m.hostPath) || !path.isAbsolute(m.sandboxPath))
        throw new Error(`mount paths must be absolute: ${JSON.stringify(m)}`);
      if (!existsSync(m.hostPath)) throw new Error(`mount source does not exist: ${m.hostPath}`);
      const target = path.posix.normalize(m.sandboxPath);
      if (
        [SANDBOX_HOME, SANDBOX_TMP, SANDBOX_ROOT_HOME, SANDBOX_RUN, "/proc", "/dev", "/etc/passwd", "/etc/group"].some(
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
    const bwrap = findOnPath("bwrap");
    const tools: Tools = {
      prlimit: findOnPath("prlimit"),
      setpriv: findOnPath("setpriv"),
      unshare: findOnPath("unshare"),
      nsenter: findOnPath("nsenter"),
    };
    const isRoot = process.getuid?.() === 0;
    let blocker: string | undefined;
    if (!isRoot) blocker = "the host does not run as root";
    else if (!opts.perSandboxUid) blocker = "disabled by the perSandboxUid option";
    else if (!tools.unshare || !tools.setpriv) blocker = "unshare and setpriv (util-linux) are needed";
    else {
      const install = nodeInstallDir();
      const needed = [install.bind ?? process.execPath, ...mounts.map((m) => m.hostPath)];
      const unreadable = worldReadable(root, true) ? needed.find((p) => !worldReadable(p)) : root;
      if (unreadable) blocker = `${unreadable} is not readable by other users`;
    }
    const shareWarning = (why: string) =>
      `lakitu sandbox: a sandbox's root, user and lakitu-agent share one host uid (${why}); the per-sandbox process limit is off`;
    if (isRoot && opts.perSandboxUid && blocker) warn(shareWarning(blocker));

    const make = (kind: "bwrap" | "none", uidBlocker = blocker) =>
      new Isolation(
        kind,
        { ...tools, bwrap: kind === "bwrap" ? bwrap : undefined },
        kind === "bwrap" ? fixedBwrapArgs(etcDir, mounts, uidBlocker === undefined) : [],
        maxProcesses,
        uidBlocker,
        network,
      );

    if (mode === "none") {
      warn(NO_ISOLATION_WARNING);
      return make("none");
    }
    if (!bwrap) throw new IsolationUnavailableError(NO_BWRAP_ERROR);
    if (!tools.nsenter || !tools.setpriv || !tools.unshare) {
      throw new IsolationUnavailableError(
        `lakitu sandbox: nsenter, setpriv and unshare (util-linux) are needed to run commands in a sandbox's namespaces; ${INSTALL_HINT}`,
      );
    }
    const isolation = make("bwrap");
    let probe = await isolation.probe(root);
    if (probe.ok) return isolation;
    if (isolation.usesOwnUids) {
      // Some hosts let root, but not other users, create user namespaces: isolate with the shared uid.
      const shared = make("bwrap", `bwrap cannot start a sandbox as an unprivileged uid here (${probe.output})`);
      const second = await shared.probe(root);
      if (second.ok) {
        warn(shareWarning(shared.perSandboxUidBlocker!));
        return shared;
      }
      probe = second;
    }
    throw new IsolationUnavailableError(
      `lakitu sandbox: bubblewrap is installed but failed to start a sandbox (${probe.output}); ${INSTALL_HINT}`,
    );
  }

  get usesOwnUids(): boolean {
    return this.perSandboxUidBlocker === undefined;
  }

  /**
   * Starts a throwaway sandbox's init and runs a check in it as `user`, to see that bwrap and nsenter
   * work here with these mounts.
   */
  private async probe(root: string): Promise<{ ok: boolean; output: string }> {
    const id = `.probe-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const dir = path.join(root, id);
    const dirs: SandboxDirs = {
      dir,
      home: path.join(dir, "home"),
      workspace: path.join(dir, "workspace"),
      tmp: path.join(dir, "tmp"),
      root: path.join(dir, "root"),
      run: path.join(dir, "run"),
    };
    const ids = this.usesOwnUids ? allocateHostIds() : undefined;
    let init: SandboxInit | undefined;
    try {
      await createSandboxDirs(dirs, ids);
      init = await SandboxInit.start(this.initPlan({ dirs, ids }));
      const plan = this.plan({
        dirs,
        ids,
        user: "user",
        cmd: "/bin/sh",
        args: ["-c", "test -w /home/user/workspace && test -w /tmp"],
        cwd: SANDBOX_WORKSPACE,
        envs: {},
        init,
      });
      return await runPlan(plan);
    } catch (e) {
      return { ok: false, output: e instanceof Error ? e.message : String(e) };
    } finally {
      await init?.kill();
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** The environment of a command: PATH, HOME, LANG, the bridge socket, then the sandbox's and the command's envs. */
  environment(spec: CommandSpec): Record<string, string> {
    const { binDir } = nodeInstallDir();
    const pathVar = BASE_PATH.split(":").includes(binDir) ? BASE_PATH : `${binDir}:${BASE_PATH}`;
    const root = spec.user === "root";
    const base: Record<string, string> =
      this.kind === "bwrap"
        ? { PATH: pathVar, HOME: root ? SANDBOX_ROOT_HOME : SANDBOX_HOME, LANG: "C.UTF-8" }
        : { PATH: pathVar, HOME: root ? spec.dirs.root : spec.dirs.home, TMPDIR: spec.dirs.tmp, LANG: "C.UTF-8" };
    if (spec.bridge)
      base[COMPONENT_SOCKET_ENV] = this.kind === "bwrap" ? COMPONENT_SOCKET : path.join(spec.dirs.run, path.basename(COMPONENT_SOCKET));
    // Only a sandbox with its own uids has an agent user the runtime can switch to: it then runs agent
    // code as that user (and fails the run if it cannot). Without, the runtime warns instead.
    if (this.kind === "bwrap" && this.usesOwnUids) base.LAKITU_AGENT_USER = AGENT_NAME;
    return { ...base, ...spec.envs };
  }

  plan(spec: CommandSpec): SpawnPlan {
    const env = this.environment(spec);
    const user = spec.user ?? "user";
    const fsize = spec.maxFileBytes !== undefined ? [`--fsize=${spec.maxFileBytes}:${spec.maxFileBytes}`] : [];
    const nproc = `--nproc=${this.maxProcesses}:${this.maxProcesses}`;
    const { prlimit, setpriv, unshare, nsenter } = this.tools;
    if (this.kind === "none") {
      // Direct: scrubbed env, workspace cwd; with own uids the process limit holds per sandbox uid.
      // setpriv --pdeathsig: the command dies with the host.
      const ids = hostIdOf(spec.ids, user) ?? {};
      const argv = [spec.cmd, ...spec.args];
      const wrapped = [
        ...(setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : []),
        ...(prlimit && (spec.ids !== undefined || fsize.length) ? [prlimit, ...(spec.ids !== undefined ? [nproc] : []), ...fsize, "--"] : []),
        ...argv,
      ];
      return { file: wrapped[0]!, args: wrapped.slice(1), env, cwd: spec.hostCwd ?? spec.dirs.workspace, ...ids };
    }
    // bwrap: the command joins the namespaces of the sandbox's init (sandboxInit.ts).
    if (spec.init === undefined) throw new Error("a sandbox command under bwrap needs its sandbox's init");
    const own = spec.ids !== undefined;
    // Own uids: prlimit runs outside (before the user namespace), so RLIMIT_NPROC counts the processes
    // of each of the sandbox's host uids, whichever command started them. A shared uid: inside the
    // command's own user namespace, where the count is per command (a host not running as root).
    const innerPrlimit = !own && prlimit && /^\/(usr\/)?s?bin\//.test(prlimit) && process.getuid?.() !== 0;
    const outerLimits = own ? [nproc, ...fsize] : fsize;
    const outer = prlimit && outerLimits.length ? [prlimit, ...outerLimits, "--"] : [];
    const argv = [
      ...outer,
      ...enterArgv({
        tools: { nsenter: nsenter!, setpriv: setpriv!, unshare: unshare! },
        ownUids: own,
        isolatedNetwork: this.network === "isolated",
        joinUser: spec.init.ownUserNamespace,
        user,
        rootCapabilities: ROOT_CAPABILITIES,
        cwd: spec.cwd,
        cmd: spec.cmd,
        args: spec.args,
        innerPrefix: innerPrlimit ? [prlimit, nproc, "--"] : undefined,
      }),
    ];
    return { file: argv[0]!, args: argv.slice(1), env, cwd: "/", reportsPid: true, fds: [...spec.init.handles] };
  }

  /**
   * The init of a sandbox (bwrap): its namespaces and mounts, made once; commands join them (`plan`
   * with `target`). It keeps no capability.
   */
  initPlan(spec: InitSpec): SpawnPlan {
    const { prlimit, unshare, bwrap } = this.tools;
    if (this.kind !== "bwrap") throw new Error("only bwrap sandboxes have an init");
    const own = spec.ids !== undefined;
    const args = [...this.fixedArgs, ...initBwrapArgs(spec, own, this.network)];
    const env = { PATH: BASE_PATH, LANG: "C.UTF-8" };
    if (own) {
      const nproc = `--nproc=${this.maxProcesses}:${this.maxProcesses}`;
      const outer = [...(prlimit ? [prlimit, nproc, "--"] : []), ...userNamespacePrefix(unshare!), bwrap!];
      const ids = spec.ids!;
      return {
        file: outer[0]!,
        args: [...outer.slice(1), ...args],
        env,
        cwd: "/",
        uid: ids.root,
        gid: ids.root,
        handshake: (pid, release) => mapUserNamespace(pid, ids, release),
      };
    }
    return { file: bwrap!, args, env, cwd: "/" };
  }

  /** How processes are limited, for the host's report. */
  describeProcessLimit(): string {
    if (!this.tools.prlimit) return "none (prlimit not found)";
    if (this.usesOwnUids) return `${this.maxProcesses} per sandbox user (own uids + RLIMIT_NPROC)`;
    if (this.kind === "bwrap" && process.getuid?.() !== 0) return `${this.maxProcesses} per command (RLIMIT_NPROC in its user namespace)`;
    return `none (${this.perSandboxUidBlocker ?? "no own uid"})`;
  }
}
