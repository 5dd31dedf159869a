/**
 * Running commands of a sandbox (envd's `process.Process` service, host side).
 *
 * Each command is its own process group (spawned detached); under bwrap it is also its own pid namespace,
 * so its background children live exactly as long as it does. Output goes to whoever is subscribed (the
 * `Start` stream and any `Connect` streams) with backpressure: while a subscriber has more than its
 * cap queued, the host stops reading the command's pipes, so the command blocks on its writes (as on
 * E2B) and nothing is lost or buffered without bound. With nobody subscribed, output is read and
 * dropped, so a command nobody listens to never blocks on a full pipe.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import { childrenOf, descendants, listProcesses, signal, treeLevels, waitGone } from "./procfs.js";
import type { SpawnPlan } from "./isolation.js";

export type ProcessConfig = { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string };
export type EndEvent = { exitCode: number; exited: boolean; status: string; error?: string };
export type OutputStream = "stdout" | "stderr";

/** A stream of process events (a Start or Connect call). */
export interface Subscriber {
  /** False when the subscriber is full: output stops until it calls `Command.drained`. */
  data(stream: OutputStream, chunk: Buffer): boolean;
  end(event: EndEvent): void;
}

export class Command {
  readonly pid: number;
  private readonly subscribers = new Set<Subscriber>();
  /** Subscribers that are full: while any is, the pipes are not read. */
  private readonly full = new Set<Subscriber>();
  /** The process exited while output was paused: finish once it flows again. */
  private finishWhenFlowing: (() => void) | undefined;
  private killRequested = false;
  /** Set when the host kills the command for a sandbox limit: it then ends with 137 and this error. */
  private killReason: string | undefined;
  private result: EndEvent | undefined;
  private readonly done: Promise<EndEvent>;
  private deadline: NodeJS.Timeout | undefined;
  /** When the command will be killed for its Start call's deadline, if it has one. */
  deadlineAt: Date | undefined;

  constructor(
    private readonly child: ChildProcess,
    readonly config: ProcessConfig,
    readonly tag: string | undefined,
    private readonly underBwrap: boolean,
  ) {
    if (child.pid === undefined) throw new Error("process did not start");
    this.pid = child.pid;
    child.stdout?.on("data", (chunk: Buffer) => this.emit("stdout", chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.emit("stderr", chunk));
    child.stdin?.on("error", () => {}); // writing to a command that exited
    this.done = new Promise<EndEvent>((resolve) => {
      let exit: EndEvent | undefined;
      let grace: NodeJS.Timeout | undefined;
      const finish = () => {
        if (this.result) return;
        clearTimeout(grace);
        clearTimeout(this.deadline);
        this.result = exit ?? { exitCode: -1, exited: false, status: "unknown" };
        // A grandchild that kept the pipes open (direct mode) must not keep the host reading.
        child.stdout?.destroy();
        child.stderr?.destroy();
        for (const s of this.subscribers) s.end(this.result);
        this.subscribers.clear();
        resolve(this.result);
      };
      child.on("exit", (code, sig) => {
        exit = this.killReason
          ? { exitCode: 137, exited: true, status: "signal: killed", error: this.killReason }
          : code !== null
            ? { exitCode: code, exited: true, status: `exit status ${code}` }
            : { exitCode: -1, exited: false, status: `signal: ${sig === "SIGKILL" ? "killed" : (sig ?? "unknown")}` };
        // Grace for a grandchild that keeps the pipes open; while paused, what is still in the pipes
        // must be read first, so the grace starts once output flows again.
        const armGrace = () => (grace = setTimeout(() => (this.paused ? (this.finishWhenFlowing = armGrace) : finish()), 250));
        armGrace();
      });
      child.on("close", finish);
      child.on("error", (err) => {
        exit ??= { exitCode: -1, exited: false, status: "error", error: err.message };
        finish();
      });
    });
  }

  /**
   * Spawns the plan; rejects when the process cannot be started at all (missing binary, EAGAIN) or its
   * user namespace cannot be set up (`plan.handshake`, on fd 3; the process is then killed).
   */
  static spawn(plan: SpawnPlan, config: ProcessConfig, opts: { tag?: string; stdin: boolean; underBwrap: boolean }): Promise<Command> {
    const child = spawn(plan.file, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      uid: plan.uid,
      gid: plan.gid,
      detached: true, // own process group (setsid): the host kills the whole group
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe", ...(plan.handshake ? (["pipe"] as const) : [])],
    });
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => {
        child.off("error", reject);
        const command = new Command(child, config, opts.tag, opts.underBwrap);
        if (!plan.handshake) return resolve(command);
        const fd3 = child.stdio[3] as Writable;
        fd3.on("error", () => {}); // the process died before the handshake
        plan
          .handshake(command.pid, () => fd3.end("go\n"))
          .then(
            () => resolve(command),
            async (e: unknown) => {
              await command.kill();
              reject(e instanceof Error ? e : new Error(String(e)));
            },
          );
      });
    });
  }

  get exited(): boolean {
    return this.result !== undefined;
  }

  wait(): Promise<EndEvent> {
    return this.done;
  }

  /** Adds a subscriber; a finished command ends it at once. Returns the unsubscribe function. */
  subscribe(s: Subscriber): () => void {
    if (this.result) {
      s.end(this.result);
      return () => {};
    }
    this.subscribers.add(s);
    return () => {
      this.subscribers.delete(s);
      this.drained(s);
    };
  }

  private get paused(): boolean {
    return this.full.size > 0 && !this.killRequested;
  }

  private emit(stream: OutputStream, chunk: Buffer): void {
    for (const s of this.subscribers) if (!s.data(stream, chunk)) this.full.add(s);
    if (this.paused) {
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
  }

  /** `s` has room again (or is gone): output flows once no subscriber is full. */
  drained(s: Subscriber): void {
    if (!this.full.delete(s) || this.paused) return;
    this.resumeOutput();
  }

  private resumeOutput(): void {
    this.child.stdout?.resume();
    this.child.stderr?.resume();
    const finish = this.finishWhenFlowing;
    this.finishWhenFlowing = undefined;
    finish?.();
  }

  /** Kills the command when `ms` pass (the Start call's Connect deadline, as envd does). */
  setDeadline(ms: number, onExpire: () => void): void {
    clearTimeout(this.deadline);
    this.deadlineAt = new Date(Date.now() + ms);
    this.deadline = setTimeout(() => {
      if (this.result) return;
      onExpire();
      void this.kill();
    }, ms);
    this.deadline.unref();
  }

  writeStdin(data: Buffer): boolean {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) return false;
    stdin.write(data);
    return true;
  }

  closeStdin(): boolean {
    const stdin = this.child.stdin;
    if (!stdin || stdin.writableEnded) return false;
    stdin.end();
    return true;
  }

  /** Live host pids of this command's tree (the spawned process and all its descendants). */
  pids(procs = listProcesses()): number[] {
    return this.result && !procs.some((p) => p.pid === this.pid) ? [] : descendants([this.pid], procs);
  }

  /** Sends `sig` to the command; SIGKILL kills its whole tree (see `kill`). */
  signal(sig: NodeJS.Signals): void {
    if (this.result) return;
    if (sig === "SIGKILL") return void this.kill();
    // Other signals go to the command process itself, as envd does, so it can handle them. Under bwrap
    // that is two levels down (bwrap → the namespace's init → the command); signalling bwrap would only
    // make it die and take the command with it.
    const procs = listProcesses();
    const targets = this.underBwrap ? childrenOf(this.pid, procs).flatMap((init) => childrenOf(init, procs)) : [this.pid];
    for (const pid of targets) signal(pid, sig);
  }

  /**
   * SIGKILLs the tree and waits (bounded) until every process of it is gone. Under bwrap the pid
   * namespace's init goes first: the kernel then kills and reaps everything inside it and bwrap exits on
   * its own, so nothing is orphaned as a zombie onto the host's init. Without bwrap the tree dies from
   * the leaves up, for the same reason. The process group and every pid seen in the tree follow, for
   * what is left. With a `reason` (a sandbox limit) the command ends with exit code 137 and that error.
   */
  async kill(reason?: string): Promise<void> {
    if (this.result) return;
    this.killReason ??= reason;
    // A killed command's output no longer waits for slow readers (its pipes must drain for it to end).
    this.killRequested = true;
    this.resumeOutput();
    const procs = listProcesses();
    const pids = this.pids(procs);
    if (this.underBwrap) {
      for (const init of childrenOf(this.pid, procs)) signal(init, "SIGKILL");
      await Promise.race([this.done, sleep(500)]);
    } else {
      // No pid namespace: kill from the leaves up, so each parent is still alive to reap its children.
      const levels = treeLevels(this.pid, procs);
      for (const level of levels.reverse()) {
        for (const pid of level) signal(pid, "SIGKILL");
        await waitGone(level, 200);
      }
    }
    signal(-this.pid, "SIGKILL");
    for (const pid of pids) signal(pid, "SIGKILL");
    await Promise.race([this.done, sleep(2_000)]);
    await waitGone(pids, 2_000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
