/**
 * Running commands of a sandbox (envd's `process.Process` service, host side).
 *
 * Each command is its own process group (spawned detached). Under bwrap it joins its sandbox's
 * namespaces (sandboxInit.ts): its `pid` is the in-sandbox pid it reports as the first line of its
 * stdout (taken off the stream), and what it leaves
 * running in the background (a daemon) lives on, adopted by the sandbox's pid 1, until the sandbox ends.
 * Without bwrap `pid` is the host pid. Output goes to whoever is subscribed (the
 * `Start` stream and any `Connect` streams) with backpressure: while a subscriber has more than its
 * cap queued, the host stops reading the command's pipes, so the command blocks on its writes (as on
 * E2B) and nothing is lost or buffered without bound. With nobody subscribed, output is read and
 * dropped, so a command nobody listens to never blocks on a full pipe.
 */
import { spawn, type ChildProcess } from "node:child_process";
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
  /** The command ended because its sandbox was killed (not for a limit): E2B drops the stream then. */
  gone(message: string): void;
}

export class Command {
  /** The pid the SDK sees: in-sandbox under bwrap, else the host pid. */
  readonly pid: number;
  /** Host pid of the spawned process (nsenter under bwrap; the command's parent there). */
  readonly hostPid: number;
  private readonly subscribers = new Set<Subscriber>();
  /** Subscribers that are full: while any is, the pipes are not read. */
  private readonly full = new Set<Subscriber>();
  /**
   * Output read before the first subscriber (the Start stream, which needs the pid first) came: given
   * to it, or dropped if nobody subscribes by the next turn of the event loop.
   */
  private held: Array<[OutputStream, Buffer]> | undefined = [];
  /** The process exited while output was paused: finish once it flows again. */
  private finishWhenFlowing: (() => void) | undefined;
  private killRequested = false;
  /** Set when the host kills the command for a sandbox limit: it then ends with 137 and this error. */
  private killReason: string | undefined;
  /** Set when the command's sandbox is killed (DELETE, timeout): its streams end with `unavailable`. */
  private goneMessage: string | undefined;
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
    sandboxPid?: number,
  ) {
    if (child.pid === undefined) throw new Error("process did not start");
    this.hostPid = child.pid;
    this.pid = sandboxPid ?? child.pid;
    child.stdout?.on("data", (chunk: Buffer) => this.emit("stdout", chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.emit("stderr", chunk));
    child.stdout?.resume(); // paused by `spawn` while it read the pid line
    child.stdin?.on("error", () => {}); // writing to a command that exited
    setImmediate(() => (this.held = undefined));
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
        for (const s of this.subscribers) this.tell(s);
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
   * Spawns the plan; rejects when the process cannot be started at all (missing binary, EAGAIN) or,
   * for a plan that reports its in-sandbox pid (bwrap), when it ends without reporting one (its
   * sandbox's namespaces could not be entered).
   */
  static spawn(plan: SpawnPlan, config: ProcessConfig, opts: { tag?: string; stdin: boolean; underBwrap: boolean }): Promise<Command> {
    const child = spawn(plan.file, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      uid: plan.uid,
      gid: plan.gid,
      detached: true, // own process group (setsid): the host kills the whole group
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe", ...(plan.fds ?? [])],
    });
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => {
        child.off("error", reject);
        if (!plan.reportsPid) return resolve(new Command(child, config, opts.tag, opts.underBwrap));
        // The first line of stdout is the in-sandbox pid, written before the command runs; the rest
        // is the command's output, put back for the Command to read.
        const stdout = child.stdout!;
        let head = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          head = Buffer.concat([head, d]);
          const nl = head.indexOf(10);
          if (nl === -1 && head.length < 32) return;
          stdout.off("data", onData);
          stdout.off("end", onEnd);
          stdout.pause();
          const pid = nl === -1 ? undefined : /^(\d+)$/.exec(head.subarray(0, nl).toString())?.[1];
          if (nl + 1 < head.length) stdout.unshift(head.subarray(nl + 1));
          if (pid) return resolve(new Command(child, config, opts.tag, opts.underBwrap, Number(pid)));
          child.kill("SIGKILL");
          reject(new Error("the command did not report its pid"));
        };
        // No pid: it failed before the command ran (nsenter, setpriv); its stderr says why.
        const onEnd = () => {
          stdout.off("data", onData);
          let stderr = "";
          child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
          const done = () => {
            const detail = stderr.trim().slice(0, 500);
            reject(new Error(`the command could not enter its sandbox${detail ? `: ${detail}` : ""}`));
          };
          const timer = setTimeout(() => {
            child.kill("SIGKILL");
            done();
          }, 2_000);
          child.once("close", () => {
            clearTimeout(timer);
            done();
          });
        };
        stdout.on("data", onData);
        stdout.once("end", onEnd);
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
    const held = this.held;
    this.held = undefined;
    if (this.result) {
      for (const [stream, chunk] of held ?? []) s.data(stream, chunk);
      this.tell(s);
      return () => {};
    }
    this.subscribers.add(s);
    for (const [stream, chunk] of held ?? []) if (!s.data(stream, chunk)) this.full.add(s);
    if (this.paused) {
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
    return () => {
      this.subscribers.delete(s);
      this.drained(s);
    };
  }

  /** Ends `s` with the result, or as dropped when the sandbox was killed under the command. */
  private tell(s: Subscriber): void {
    if (this.goneMessage !== undefined && this.killReason === undefined) s.gone(this.goneMessage);
    else s.end(this.result!);
  }

  private get paused(): boolean {
    return this.full.size > 0 && !this.killRequested;
  }

  private emit(stream: OutputStream, chunk: Buffer): void {
    if (this.held) return void this.held.push([stream, chunk]);
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
    return this.result && !procs.some((p) => p.pid === this.hostPid) ? [] : descendants([this.hostPid], procs);
  }

  /** Sends `sig` to the command; SIGKILL kills its whole tree (see `kill`). */
  signal(sig: NodeJS.Signals): void {
    if (this.result) return;
    if (sig === "SIGKILL") return void this.kill();
    // Other signals go to the command process itself, as envd does, so it can handle them. Under bwrap
    // that is nsenter's child (signalling nsenter would only orphan the command).
    for (const pid of this.underBwrap ? childrenOf(this.hostPid) : [this.hostPid]) signal(pid, sig);
  }

  /**
   * Called before the sandbox's pid 1 is killed under the command: with a `reason` (a limit) it ends
   * with exit code 137 and that error; without, its streams end with `unavailable` (`message`).
   */
  endWithSandbox(message: string, reason?: string): void {
    if (this.result) return;
    if (reason !== undefined) this.killReason ??= reason;
    else this.goneMessage ??= message;
    this.killRequested = true;
    this.resumeOutput();
  }

  /**
   * SIGKILLs the tree and waits (bounded) until every process of it is gone: from the leaves up, so
   * each parent is still alive to reap its children (under bwrap an orphan would be adopted by the
   * sandbox's pid 1, without bwrap by the host's init), then the process group and every pid seen in
   * the tree, for what is left. Daemons it started that left its tree (reparented to the sandbox's
   * pid 1) are not part of it: they end with the sandbox. With a `reason` (a sandbox limit) the
   * command ends with exit code 137 and that error.
   */
  async kill(reason?: string): Promise<void> {
    if (this.result) return;
    this.killReason ??= reason;
    // A killed command's output no longer waits for slow readers (its pipes must drain for it to end).
    this.killRequested = true;
    this.resumeOutput();
    const procs = listProcesses();
    const pids = this.pids(procs);
    const levels = treeLevels(this.hostPid, procs);
    for (const level of levels.reverse()) {
      for (const pid of level) signal(pid, "SIGKILL");
      await waitGone(level, 200);
    }
    signal(-this.hostPid, "SIGKILL");
    for (const pid of pids) signal(pid, "SIGKILL");
    await Promise.race([this.done, sleep(2_000)]);
    await waitGone(pids, 2_000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
