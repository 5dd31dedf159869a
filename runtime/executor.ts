/**
 * Runs the steps of agent code, in an executor process of its own.
 *
 * The code is transpiled in the runtime with sucrase (TypeScript + ESM imports → CommonJS `require`),
 * then run by an executor process (`worker.ts`): a separate Node process with a scrubbed environment
 * and a heap limit, started under the sandbox's agent user when there is one (another uid, so it cannot
 * read the runtime's memory, environment or files). It never holds the session token: KSA calls that
 * need the server come back here as requests, are checked against the stage's allowed KSAs, and only
 * then forwarded.
 *
 * One process serves the run's steps one after another. After each step every other process the step
 * started is killed (the agent user's processes, or without one the executor's process group and
 * descendants); the executor itself is kept only when the step left nothing running inside it (it says
 * so in `done`; see worker.ts) and its output ended with the step's mark. A step that timed out, was
 * canceled, crashed, exited, broke the protocol or left something running is killed with its process,
 * and a fresh one boots while the model thinks. What may carry over: runtime/README.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { killAgentProcesses, killDescendants, type AgentUser } from "./agentUser.js";
import { exitError, failed, stepError, transpile } from "./stepCode.js";
import { StepOutput } from "./stepOutput.js";
import { LineSplitter, parseFromWorker, TO_PARENT_FD, type FromWorker, type ToWorker, type WorkerInit } from "./workerProtocol.js";

export { transpile, type Transpiled } from "./stepCode.js";

export type StepErrorKind = "syntax" | "runtime" | "timeout" | "crash" | "canceled";

export type StepResult = {
  ok: boolean;
  /** Console output (stdout and stderr interleaved), capped with a `…[truncated N bytes]` marker. */
  output: string;
  outputBytes: number;
  truncatedBytes: number;
  error?: { kind: StepErrorKind; message: string; stack?: string };
  /** From handing the code to the worker until it settled. */
  durationMs: number;
};

export type Gateway = (ksa: string, fn: string, args: unknown, signal: AbortSignal) => Promise<unknown>;

export type ExecutorOptions = {
  /** Absolute path of the workspace (the step's cwd is the process cwd; main.ts sets it to this). */
  workspace: string;
  /** Absolute path of the output folder. */
  outputDir: string;
  allowedKsas: string[];
  stageName: string;
  /** Per-step timeout. */
  stepTimeoutMs: number;
  /** Console output kept per step. */
  maxOutputBytes: number;
  /** Forwards a gateway KSA call (the runtime calls the component's /ksa). Only allowed KSAs reach it. */
  gateway: Gateway;
  /** Environment of the step; default `scrubEnv(process.env)`. */
  env?: Record<string, string>;
  /** Secrets whose values must not appear in the step's environment under any name. */
  secrets?: readonly string[];
  /** Heap limit of the executor process (V8 old generation). Default 512 MiB. */
  maxHeapMb?: number;
  /**
   * The user agent code runs as (the runtime must be root to switch to it). Undefined: the runtime's
   * own uid — then agent code could read the runtime's memory, so run.ts warns.
   */
  agentUser?: AgentUser;
  /** `unshare`, to start the executor in a network namespace of its own (only with `agentUser`). */
  unshare?: string;
  /** The executor entry (tests run a built `worker.js`). Default: `worker.js` next to this bundle. */
  workerPath?: string;
  /** Boot an executor process at construction, and a replacement as soon as one is killed. Default true. */
  prewarm?: boolean;
  /**
   * Run the next step in the same process when the step left nothing running. Default true. False: a
   * fresh process per step, as before reuse existed (the benchmark's baseline).
   */
  reuse?: boolean;
  /** See WorkerInit.ksaModule (tests). */
  ksaModule?: string;
  /** Warnings about the KSA module (failed to load, unknown allowed names). */
  onWarning?: (message: string) => void;
};

const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD/i;
const BOOT_TIMEOUT_MS = 30_000;
/** After a step settles, how long the pipes may take to deliver the last output. */
const DRAIN_MS = 1_000;

/** The environment agent code may see: no LAKITU_* and nothing whose name looks like a secret. */
export function scrubEnv(env: NodeJS.ProcessEnv, secrets: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k.startsWith("LAKITU_") || SECRET_NAME.test(k)) continue;
    if (secrets.some((s) => s.length > 0 && v.includes(s))) continue;
    out[k] = v;
  }
  return out;
}

type Warm = {
  child: ChildProcess;
  ready: Promise<void>;
  /** Where the pipes' bytes go while a step runs (between steps they are dropped). */
  output?: StepOutput;
  /** Set while the process runs a step. */
  onMessage?: (m: FromWorker) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null, reason?: string) => void;
  exited: boolean;
  /** Resolves when stdout and stderr have ended (the process and everything it started are gone). */
  drained: Promise<void>;
  /** Steps it ran. */
  steps: number;
};

/** How a step settled, and whether its process may run the next one. */
type Settled = { error?: StepResult["error"]; keep: boolean; why?: string };

export class Executor {
  /** The booted process waiting for the next step (reused after a clean step, or prewarmed). */
  private idle: Warm | undefined;
  private current: { warm: Warm; abort: AbortController } | undefined;
  private closed = false;
  private warned = false;
  /** Processes started, steps run by a process that had run one before, and why the last process was replaced. */
  readonly stats = { boots: 0, reusedSteps: 0, lastReplaced: undefined as string | undefined };

  constructor(private readonly options: ExecutorOptions) {
    if (options.prewarm !== false) this.idle = this.boot();
  }

  /**
   * Runs `code` (TypeScript or JavaScript) as step `step`. Never throws for anything the code does:
   * syntax errors, exceptions, rejected promises, timeouts and crashes come back in `error`.
   */
  async run(code: string, opts: { step: number; /** Lowers the configured step timeout for this step. */ timeoutMs?: number; signal?: AbortSignal }): Promise<StepResult> {
    if (this.closed) return failed("canceled", "the executor is closed", 0);
    const filename = `step-${opts.step}.ts`;
    const t = transpile(code, filename);
    if (!t.ok) return failed("syntax", t.message, 0);

    let warm = this.idle;
    this.idle = undefined;
    if (!warm || warm.exited) warm = this.boot();
    const abort = new AbortController();
    this.current = { warm, abort };
    try {
      await warm.ready;
    } catch (e) {
      this.current = undefined;
      this.kill(warm);
      return failed("crash", `the step process failed to start: ${(e as Error).message}`, 0);
    }
    if (this.closed || opts.signal?.aborted || abort.signal.aborted) {
      this.current = undefined;
      this.kill(warm);
      return failed("canceled", "the step was not run: the runtime is stopping", 0);
    }
    if (warm.steps > 0) this.stats.reusedSteps++;
    warm.steps++;
    const mark = `\u0001lakitu-step-end:${randomBytes(12).toString("hex")}\u0001`;
    const output = new StepOutput(this.options.maxOutputBytes, mark);
    warm.output = output;
    const timeoutMs = Math.max(1, Math.min(this.options.stepTimeoutMs, opts.timeoutMs ?? Infinity));
    const started = performance.now();
    const settled = await new Promise<Settled>((resolve) => {
      const finish = (r: Settled) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        abort.signal.removeEventListener("abort", onAbort);
        warm.onMessage = undefined;
        warm.onExit = undefined;
        resolve(r);
      };
      const timer = setTimeout(() => finish({ keep: false, error: { kind: "timeout", message: `timed out after ${timeoutMs} ms; the step was stopped` } }), timeoutMs);
      const onAbort = () => finish({ keep: false, error: { kind: "canceled", message: "the step was stopped: the runtime is shutting down" } });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      abort.signal.addEventListener("abort", onAbort, { once: true });
      warm.onMessage = (m) => {
        if (m.type === "ksa") void this.forward(warm, m, abort.signal);
        else if (m.type === "done") {
          const error = m.error ? stepError(m.error, m.phase, filename, code.split("\n").length) : undefined;
          finish({ error, keep: m.leftover === undefined, why: m.leftover });
        }
      };
      warm.onExit = (exitCode, signal, reason) =>
        finish({ keep: false, why: "it exited", error: exitCode === 0 && !reason ? undefined : exitError(exitCode, signal, reason, this.options.maxHeapMb ?? DEFAULT_HEAP_MB) });
      if (warm.exited) finish({ keep: false, error: { kind: "crash", message: "the step process exited before the step started" } });
      else send(warm, { type: "run", code: t.js, filename, mark });
    });
    const durationMs = performance.now() - started;
    abort.abort();
    let keep = settled.keep && this.options.reuse !== false && !this.closed;
    // The executor wrote the mark before `done`; it may still be in the pipes.
    if (keep && !(await within(output.marked, DRAIN_MS))) {
      keep = false;
      settled.why = "its output did not end with the step's mark";
    }
    warm.output = undefined;
    this.current = undefined;
    if (keep) {
      // What the step started dies with the step; the process itself waits for the next one.
      this.sweep(warm);
      this.idle = warm;
    } else {
      if (settled.why) this.stats.lastReplaced = settled.why;
      warm.output = output;
      this.kill(warm);
      // Killed with everything it started: the pipes end, and the output up to the kill is ours.
      await within(warm.drained, DRAIN_MS);
      warm.output = undefined;
      // Boot the next process off the critical path: the caller gets this step's result first.
      if (this.options.prewarm !== false) {
        setImmediate(() => {
          // Not when the caller already started the next step (it booted its own process). With `reuse:
          // false` exactly as before reuse existed, which did boot one more then (the baseline).
          if (!this.closed && !this.idle && (!this.current || this.options.reuse === false)) this.idle = this.boot();
        });
      }
    }
    const out = output.read();
    return {
      ok: settled.error === undefined,
      output: out.text,
      outputBytes: out.totalBytes,
      truncatedBytes: out.truncatedBytes,
      error: settled.error,
      durationMs,
    };
  }

  /** Resolves when an executor process is booted and waiting for the next step (boots one if none is). */
  async warm(): Promise<void> {
    if (this.closed) return;
    if (this.idle?.exited) this.idle = undefined;
    this.idle ??= this.boot();
    await this.idle.ready.catch(() => {});
  }

  /** Stops the running step (it resolves as `canceled`). */
  stopCurrent(): void {
    this.current?.abort.abort();
  }

  /** Stops everything: the running step and the waiting process. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopCurrent();
    const idle = this.idle;
    this.idle = undefined;
    if (idle) {
      this.kill(idle);
      await within(idle.drained, DRAIN_MS);
    }
  }

  /** The process group of `warm`, then every other process of the agent user except the executors still in use. */
  private kill(warm: Warm): void {
    const pid = warm.child.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const user = this.options.agentUser;
    if (user) killAgentProcesses(user.uid, this.inUse(warm));
  }

  /** After a step whose process is kept: everything else the step started. */
  private sweep(warm: Warm): void {
    const user = this.options.agentUser;
    if (user) killAgentProcesses(user.uid, [...this.inUse(warm), warm.child.pid ?? -1]);
    else if (warm.child.pid !== undefined) killDescendants(warm.child.pid);
  }

  private inUse(except: Warm): number[] {
    return [this.idle, this.current?.warm].flatMap((w) => (w && w !== except && w.child.pid !== undefined ? [w.child.pid] : []));
  }

  private async forward(warm: Warm, m: Extract<FromWorker, { type: "ksa" }>, signal: AbortSignal): Promise<void> {
    let reply: ToWorker;
    if (!this.options.allowedKsas.includes(m.ksa)) {
      reply = { type: "ksa:result", id: m.id, ok: false, message: `forbidden: the stage "${this.options.stageName}" does not allow the KSA "${m.ksa}"` };
    } else {
      try {
        reply = { type: "ksa:result", id: m.id, ok: true, value: await this.options.gateway(m.ksa, m.fn, m.args, signal) };
      } catch (e) {
        reply = { type: "ksa:result", id: m.id, ok: false, message: (e as Error)?.message ?? String(e) };
      }
    }
    if (!warm.exited && !signal.aborted) send(warm, reply);
  }

  private boot(): Warm {
    const o = this.options;
    const init: WorkerInit = {
      workspace: o.workspace,
      outputDir: o.outputDir,
      allowedKsas: o.allowedKsas,
      stageName: o.stageName,
      ksaModule: o.ksaModule,
    };
    const node = [process.execPath, `--max-old-space-size=${o.maxHeapMb ?? DEFAULT_HEAP_MB}`, ...workerEntry(o.workerPath)];
    const user = o.agentUser;
    // With `unshare`: a network namespace of its own, then the agent user (unshare drops the groups).
    const argv =
      user && o.unshare ? [o.unshare, "--net", "--setgid", String(user.gid), "--setuid", String(user.uid), "--", ...node] : node;
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: o.workspace,
      env: o.env ?? scrubEnv(process.env, o.secrets),
      stdio: ["pipe", "pipe", "pipe", "pipe"],
      // Its own process group: killing the step kills what it started.
      detached: true,
      ...(user && !o.unshare ? { uid: user.uid, gid: user.gid } : {}),
    });
    this.stats.boots++;
    const warm: Warm = { child, ready: Promise.resolve(), exited: false, drained: Promise.resolve(), steps: 0 };
    const ended = (s: NodeJS.ReadableStream | null) => new Promise<void>((r) => (s ? s.on("close", () => r()).on("error", () => r()) : r()));
    child.stdout!.on("data", (d: Buffer) => warm.output?.write(0, d));
    child.stderr!.on("data", (d: Buffer) => warm.output?.write(1, d));
    warm.drained = Promise.all([ended(child.stdout), ended(child.stderr)]).then(() => {});
    child.stdin!.on("error", () => {});
    let protocolError: string | undefined;
    warm.ready = new Promise<void>((resolve, reject) => {
      const bootTimer = setTimeout(() => reject(new Error(`no ready signal within ${BOOT_TIMEOUT_MS} ms`)), BOOT_TIMEOUT_MS);
      bootTimer.unref();
      const violation = (problem: string) => {
        protocolError ??= `the step process broke the executor protocol (${problem})`;
        this.kill(warm);
      };
      const splitter = new LineSplitter(
        (line) => {
          const parsed = parseFromWorker(line);
          if (!parsed.ok) return violation(parsed.problem);
          const m = parsed.message;
          if (m.type === "ready") {
            clearTimeout(bootTimer);
            this.warnOnce(m);
            resolve();
            return;
          }
          warm.onMessage?.(m);
        },
        () => violation("a message over the size limit"),
      );
      const channel = child.stdio[TO_PARENT_FD] as NodeJS.ReadableStream;
      channel.on("data", (d: Buffer) => splitter.push(d));
      channel.on("error", () => {});
      child.on("error", (e) => {
        warm.exited = true;
        clearTimeout(bootTimer);
        reject(e);
        warm.onExit?.(null, null, e.message);
      });
      child.on("exit", (code, signal) => {
        warm.exited = true;
        clearTimeout(bootTimer);
        reject(new Error(protocolError ?? `the step process exited (${signal ?? `code ${code}`}) while starting`));
        warm.onExit?.(code, signal, protocolError);
      });
    });
    warm.ready.catch(() => {});
    send(warm, init);
    return warm;
  }

  private warnOnce(m: Extract<FromWorker, { type: "ready" }>): void {
    if (this.warned) return;
    this.warned = true;
    if (m.ksaError) this.options.onWarning?.(m.ksaError);
    if (m.ksaSkipped) this.options.onWarning?.(`the stage allows KSAs this runtime does not have: ${m.ksaSkipped.join(", ")}`);
  }
}

const DEFAULT_HEAP_MB = 512;

/** Whether `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function send(warm: Warm, m: ToWorker | WorkerInit): void {
  if (warm.exited || !warm.child.stdin?.writable) return;
  warm.child.stdin.write(`${JSON.stringify(m)}\n`);
}

/** Arguments that start the executor: the built `worker.js` of this bundle, or `worker.ts` through tsx in a checkout. */
function workerEntry(workerPath: string | undefined): string[] {
  if (workerPath) return [workerPath];
  const here = import.meta.url;
  // In the bundle this code sits in a chunk (chunks/), loaded after the first request; worker.js is next to main.js.
  if (!here.endsWith(".ts")) return [fileURLToPath([new URL("./worker.js", here), new URL("../worker.js", here)].find((u) => existsSync(u)) ?? new URL("./worker.js", here))];
  // The ESM loader of tsx (resolving through require gives the CommonJS build).
  const tsx = pathToFileURL(createRequire(here).resolve("tsx/esm").replace(/\.cjs$/, ".mjs")).href;
  return ["--import", tsx, fileURLToPath(new URL("./worker.ts", here))];
}
