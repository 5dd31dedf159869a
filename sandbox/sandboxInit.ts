/**
 * One long-lived set of namespaces per sandbox (bwrap isolation), like the VM of an E2B sandbox.
 *
 * At create the host starts the sandbox's init under bubblewrap: new pid, mount, ipc, uts, (cgroup)
 * and — unless the network is shared — network namespaces, with the sandbox's directories, /proc,
 * /dev and its size-capped /dev/shm mounted once. bwrap's own init is pid 1 there (it reaps orphans)
 * and `sleep infinity` pid 2 keeps it alive. Every command then joins those namespaces with `nsenter`
 * (`enterArgv`), so all commands of a sandbox share one pid namespace: the SDK sees in-sandbox pids,
 * `ps` in one command shows the others, `kill <pid>` works between them, and a daemon (`nohup x &`,
 * `setsid`) outlives its command — reparented to pid 1 — until the sandbox ends. Killing the sandbox
 * SIGKILLs pid 1: the kernel then kills every process of the namespace at once.
 *
 * Users. Own host uids (host running as root): the init runs in the user namespace mapping 0, 1000 and
 * 1001 onto the sandbox's host uids (userNamespace.ts, nested user namespaces forbidden there);
 * `nsenter` enters it as the namespace's root and `setpriv` leaves a `root` command only
 * ROOT_CAPABILITIES and switches a `user` command to 1000 without any. One shared uid (host not root,
 * or perSandboxUid off): that user namespace maps a single uid, so each command gets a nested user
 * namespace of its own mapping it to 0 (`root`) or 1000 (`user`), forbids further nesting in it
 * (`max_user_namespaces` 0) and drops every capability — the pid, mount and network namespaces are
 * still the sandbox's.
 *
 * nsenter is given the init's namespaces as fds the host opened when the init started
 * (`/proc/self/fd/N`), not its pid, so a command can never join the namespaces of a process that reused
 * the pid of a dead init. Entering the mount namespace puts it at the sandbox's root (bwrap
 * pivot_roots). The command then writes its in-sandbox pid as the first line of its stdout (`echo $$`,
 * which the host takes off the stream), closes those fds, `cd`s to its cwd and execs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, readlinkSync } from "node:fs";
import type { Writable } from "node:stream";
import type { SpawnPlan } from "./isolation.js";
import { childrenOf, descendants, listProcesses, signal, waitGone, type ProcEntry } from "./procfs.js";
import { ROOT_ID, USER_ID, type SandboxUser } from "./sandboxUsers.js";
import { HANDSHAKE_FD } from "./userNamespace.js";

/** What the init runs as pid 2: says it is ready (every mount is in place), then waits forever. */
export const INIT_SCRIPT = "echo ready && exec sleep infinity";
const READY = "ready\n";
/** Namespaces a command joins (and that identify the init), with nsenter's option for each. */
const NAMESPACES = [
  ["user", "--user"],
  ["mnt", "--mount"],
  ["pid", "--pid"],
  ["ipc", "--ipc"],
  ["uts", "--uts"],
  ["cgroup", "--cgroup"],
  ["net", "--net"],
] as const;
/** The fd of the first of the init's handles in a command (its namespaces, 3…9: dash closes single digits only). */
export const FIRST_HANDLE_FD = 3;
const HANDLE_COUNT = NAMESPACES.length;
const CLOSE_HANDLES = Array.from({ length: HANDLE_COUNT }, (_, i) => `${FIRST_HANDLE_FD + i}<&-`).join(" ");

/**
 * Runs in the joined namespaces: reports the pid (first stdout line), closes the init's handles, enters
 * the cwd (as the final user), execs the command.
 */
const COMMAND_SCRIPT = `echo $$ || exit 125; exec ${CLOSE_HANDLES}; cd "$1" || exit 125; shift; exec "$@"`;
/** Shared uid: forbids nested user namespaces in the command's own one (it still has the caps to). */
const NO_NESTING =
  'echo 0 > /proc/sys/user/max_user_namespaces || { echo "lakitu sandbox: cannot forbid nested user namespaces" >&2; exit 125; }; exec "$@"';

export type EnterTools = { nsenter: string; setpriv: string; unshare: string };

/**
 * argv (after the host-side prlimit, if any) that runs `cmd` in the namespaces of a sandbox's init,
 * whose handles the process gets as fds FIRST_HANDLE_FD… (`SpawnPlan.fds`), as `user`, in `cwd`. `innerPrefix` (shared uid only) runs inside the command's user namespace, before
 * the capabilities are dropped (e.g. prlimit, whose RLIMIT_NPROC then counts per command).
 */
export function enterArgv(opts: {
  tools: EnterTools;
  ownUids: boolean;
  isolatedNetwork: boolean;
  /** False when the init runs in the host's own user namespace (nsenter refuses to join that one). */
  joinUser: boolean;
  user: SandboxUser;
  rootCapabilities: string[];
  cwd: string;
  cmd: string;
  args: string[];
  innerPrefix?: string[];
}): string[] {
  const { tools, user } = opts;
  // The init's handles are the command's fds FIRST_HANDLE_FD… (SpawnPlan.fds, SandboxInit.handles).
  const fd = (i: number) => `/proc/self/fd/${FIRST_HANDLE_FD + i}`;
  const nsenter = [
    tools.nsenter,
    ...NAMESPACES.flatMap(([ns, option], i) =>
      (ns === "net" && !opts.isolatedNetwork) || (ns === "user" && !opts.joinUser) ? [] : [`${option}=${fd(i)}`],
    ),
    // Shared uid: the namespace maps only the host's uid, which nsenter must keep (it is 0 inside).
    ...(opts.ownUids ? [] : ["--preserve-credentials"]),
    "--",
  ];
  const run = ["/bin/sh", "-c", COMMAND_SCRIPT, "sh", opts.cwd, opts.cmd, ...opts.args];
  if (opts.ownUids) {
    const caps = (user === "root" ? opts.rootCapabilities : []).map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`);
    const id = user === "root" ? ROOT_ID : USER_ID;
    const drop = [
      tools.setpriv,
      `--reuid=${id}`,
      `--regid=${id}`,
      "--clear-groups",
      `--bounding-set=${["-all", ...caps].join(",")}`,
      "--inh-caps=-all",
      "--no-new-privs",
      "--",
    ];
    return [...nsenter, ...drop, ...run];
  }
  const id = user === "root" ? ROOT_ID : USER_ID;
  return [
    ...nsenter,
    tools.unshare,
    "--user",
    `--map-user=${id}`,
    `--map-group=${id}`,
    "--keep-caps",
    "--",
    "/bin/sh",
    "-c",
    NO_NESTING,
    "sh",
    ...(opts.innerPrefix ?? []),
    tools.setpriv,
    "--bounding-set=-all",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--no-new-privs",
    "--",
    ...run,
  ];
}

function namespaceIds(pid: number): string | undefined {
  try {
    return NAMESPACES.map(([ns]) => readlinkSync(`/proc/${pid}/ns/${ns}`)).join(" ");
  } catch {
    return undefined;
  }
}

/** The pid of `hostPid` in its own (innermost) pid namespace, from /proc/<pid>/status. */
function innermostPid(hostPid: number): number | undefined {
  try {
    const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${hostPid}/status`, "utf8"));
    const last = m?.[1]?.trim().split(/\s+/).pop();
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

/** A sandbox's init: the bwrap process tree that holds its namespaces. */
export class SandboxInit {
  private exitListeners: Array<() => void> = [];
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    /** Host pid of the spawned process (bwrap outside the sandbox's pid namespace). */
    readonly hostPid: number,
    /** Host pid of the sandbox's pid 1 (the process commands join with nsenter). */
    readonly target: number,
    /** The target's namespaces when it started. */
    private readonly namespaces: string,
    /** fds of the target's namespaces, open on the host while the init lives. */
    readonly handles: number[],
    /** False when the init shares the host's user namespace. */
    readonly ownUserNamespace: boolean,
  ) {
    child.once("exit", () => {
      this.exited = true;
      this.closeHandles();
      for (const l of this.exitListeners.splice(0)) l();
    });
  }

  private closeHandles(): void {
    for (const fd of this.handles.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
    }
  }

  /**
   * Spawns the init plan (user-namespace handshake on fd 3 when the plan has one), waits until it says
   * it is ready and finds its pid 1. Rejects (after killing it) when it does not get there in time.
   */
  static start(plan: SpawnPlan, timeoutMs = 15_000): Promise<SandboxInit> {
    const child = spawn(plan.file, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      uid: plan.uid,
      gid: plan.gid,
      detached: true,
      stdio: ["ignore", "pipe", "pipe", ...(plan.handshake ? (["pipe"] as const) : [])],
    });
    return new Promise<SandboxInit>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (child.pid !== undefined) signal(-child.pid, "SIGKILL");
        child.kill("SIGKILL");
        reject(new Error(`the sandbox's init did not start: ${why}${stderr.trim() ? ` (${stderr.trim().slice(0, 500)})` : ""}`));
      };
      const timer = setTimeout(() => fail(`not ready within ${timeoutMs} ms`), timeoutMs);
      child.once("error", (e) => fail(e.message));
      child.once("exit", (code, sig) => fail(`it exited (${code ?? sig})`));
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdout?.on("data", (d: Buffer) => {
        if (settled) return;
        stdout += d.toString();
        if (!stdout.startsWith(READY)) {
          if (stdout.length >= READY.length) fail(`unexpected output ${JSON.stringify(stdout.slice(0, 100))}`);
          return;
        }
        const hostPid = child.pid!;
        const target = childrenOf(hostPid).find((pid) => innermostPid(pid) === 1);
        const namespaces = target === undefined ? undefined : namespaceIds(target);
        if (target === undefined || namespaces === undefined) return fail("its pid 1 was not found");
        const handles: number[] = [];
        try {
          for (const [ns] of NAMESPACES) handles.push(openSync(`/proc/${target}/ns/${ns}`, "r"));
        } catch (e) {
          for (const fd of handles) closeSync(fd);
          return fail(`its namespaces could not be opened: ${e instanceof Error ? e.message : String(e)}`);
        }
        // Opened after the check: the same process still holds them (else it is not our pid 1 any more).
        if (namespaceIds(target) !== namespaces) {
          for (const fd of handles) closeSync(fd);
          return fail("its pid 1 ended while starting");
        }
        settled = true;
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.stdout?.removeAllListeners("data");
        child.stdout?.resume();
        child.stderr?.removeAllListeners("data");
        child.stderr?.resume();
        const ownUserNamespace = readlinkSync(`/proc/${target}/ns/user`) !== readlinkSync("/proc/self/ns/user");
        resolve(new SandboxInit(child, hostPid, target, namespaces, handles, ownUserNamespace));
      });
      if (plan.handshake && child.pid !== undefined) {
        const fd = child.stdio[HANDSHAKE_FD] as Writable;
        fd.on("error", () => {});
        plan.handshake(child.pid, () => fd.end("go\n")).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
      }
    });
  }

  /** True while the sandbox's pid 1 runs and still has the namespaces it started with. */
  get alive(): boolean {
    return !this.exited && this.handles.length === HANDLE_COUNT && namespaceIds(this.target) === this.namespaces;
  }

  /** Calls `listener` once the init is gone (at once if it is). */
  onExit(listener: () => void): void {
    if (this.exited) listener();
    else this.exitListeners.push(listener);
  }

  /** Live host pids of the init's tree: bwrap, pid 1 and every orphan it adopted (daemons). */
  pids(procs: ProcEntry[] = listProcesses()): number[] {
    return this.exited ? [] : descendants([this.hostPid], procs);
  }

  /**
   * SIGKILLs pid 1: the kernel kills the rest of the namespace and bwrap, its parent, reaps it and
   * exits (killing bwrap first would leave pid 1 a zombie of the host's init). Then what is left, if
   * anything; waits (bounded).
   */
  async kill(): Promise<void> {
    const pids = this.pids();
    signal(this.target, "SIGKILL");
    const exited = () => new Promise<void>((r) => this.onExit(r));
    if (!this.exited) await Promise.race([exited(), sleep(2_000)]);
    signal(-this.hostPid, "SIGKILL");
    for (const pid of pids) signal(pid, "SIGKILL");
    if (!this.exited) await Promise.race([exited(), sleep(2_000)]);
    // Whatever of the tree is still there (listed afresh: it may have changed since the first listing),
    // bwrap outside the namespace included.
    const left = [this.hostPid, ...descendants([this.hostPid], listProcesses())];
    for (const pid of left) signal(pid, "SIGKILL");
    this.closeHandles();
    await waitGone([...new Set([...pids, ...left])], 2_000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
