/**
 * Runs one step of agent code, in a process of its own.
 *
 * The code is transpiled in the runtime with sucrase (TypeScript + ESM imports → CommonJS `require`),
 * then run by a fresh executor process (`worker.ts`): a separate Node process with a scrubbed
 * environment and a heap limit, started under the sandbox's agent user when there is one (another uid,
 * so it cannot read the runtime's memory, environment or files). It never holds the session token: KSA
 * calls that need the server come back here as requests, are checked against the stage's allowed KSAs,
 * and only then forwarded. Each process runs exactly one step and is killed afterwards together with
 * everything it started, so nothing a step leaves behind (timers, daemons, patched globals) reaches the
 * next. To keep that cheap, the next process boots while the model thinks. A step that runs past its
 * timeout is killed (this also stops `while (true) {}`); its output up to then is kept.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transform } from "sucrase";
import { killAgentProcesses, type AgentUser } from "./agentUser.js";
import { OutputCollector } from "./outputBuffer.js";
import { LineSplitter, parseFromWorker, TO_PARENT_FD, type FromWorker, type SerializedError, type ToWorker, type WorkerInit } from "./workerProtocol.js";

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
  /** Boot the next worker as soon as a step ends. Default true. */
  prewarm?: boolean;
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

export type Transpiled = { ok: true; js: string } | { ok: false; message: string };

/** TypeScript/ESM → CommonJS JavaScript with the same line numbers; syntax errors as a readable message. */
export function transpile(code: string, filename: string): Transpiled {
  try {
    return { ok: true, js: transform(code, { transforms: ["typescript", "imports"], filePath: filename, disableESTransforms: true }).code };
  } catch (e) {
    const err = e as Error & { loc?: { line: number; column: number } };
    const message = err.message.replace(/^Error transforming [^:]*: /, "");
    return { ok: false, message: `SyntaxError: ${message}${err.loc ? `\n${codeFrame(code, err.loc.line, err.loc.column)}` : ""}` };
  }
}

function codeFrame(code: string, line: number, column: number): string {
  const lines = code.split("\n");
  const text = lines[line - 1];
  if (text === undefined) return "";
  const gutter = `${line} | `;
  return `${gutter}${text}\n${" ".repeat(gutter.length - 2)}| ${" ".repeat(Math.max(0, column))}^`;
}

type Warm = {
  child: ChildProcess;
  output: OutputCollector;
  ready: Promise<void>;
  /** Set while the process runs a step. */
  onMessage?: (m: FromWorker) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null, reason?: string) => void;
  exited: boolean;
  /** Resolves when stdout and stderr have ended (the process and everything it started are gone). */
  drained: Promise<void>;
};

export class Executor {
  private spare: Warm | undefined;
  private current: { warm: Warm; abort: AbortController } | undefined;
  private closed = false;
  private warned = false;

  constructor(private readonly options: ExecutorOptions) {
    if (options.prewarm !== false) this.spare = this.boot();
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

    const warm = this.spare ?? this.boot();
    this.spare = undefined;
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
    const timeoutMs = Math.max(1, Math.min(this.options.stepTimeoutMs, opts.timeoutMs ?? Infinity));
    const started = performance.now();
    const settled = await new Promise<{ error?: StepResult["error"] }>((resolve) => {
      const finish = (r: { error?: StepResult["error"] }) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        abort.signal.removeEventListener("abort", onAbort);
        warm.onMessage = undefined;
        warm.onExit = undefined;
        resolve(r);
      };
      const timer = setTimeout(() => finish({ error: { kind: "timeout", message: `timed out after ${timeoutMs} ms; the step was stopped` } }), timeoutMs);
      const onAbort = () => finish({ error: { kind: "canceled", message: "the step was stopped: the runtime is shutting down" } });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      abort.signal.addEventListener("abort", onAbort, { once: true });
      warm.onMessage = (m) => {
        if (m.type === "ksa") void this.forward(warm, m, abort.signal);
        else if (m.type === "done") {
          finish(m.error ? { error: stepError(m.error, m.phase, filename, code.split("\n").length) } : {});
        }
      };
      warm.onExit = (exitCode, signal, reason) =>
        finish(exitCode === 0 && !reason ? {} : { error: exitError(exitCode, signal, reason, this.options.maxHeapMb ?? DEFAULT_HEAP_MB) });
      if (warm.exited) finish({ error: { kind: "crash", message: "the step process exited before the step started" } });
      else send(warm, { type: "run", code: t.js, filename });
    });
    const durationMs = performance.now() - started;
    abort.abort();
    this.current = undefined;
    this.kill(warm);
    // Killed with everything it started: the pipes end, and the output up to the kill is ours.
    await Promise.race([warm.drained, new Promise((r) => setTimeout(r, DRAIN_MS))]);
    const out = warm.output.read();
    // Boot the next process off the critical path: the caller gets this step's result first.
    if (this.options.prewarm !== false) {
      setImmediate(() => {
        if (!this.closed && !this.spare) this.spare = this.boot();
      });
    }
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
    this.spare ??= this.boot();
    await this.spare.ready.catch(() => {});
  }

  /** Stops the running step (it resolves as `canceled`). */
  stopCurrent(): void {
    this.current?.abort.abort();
  }

  /** Stops everything: the running step and the spare process. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopCurrent();
    const spare = this.spare;
    this.spare = undefined;
    if (spare) {
      this.kill(spare);
      await Promise.race([spare.drained, new Promise((r) => setTimeout(r, DRAIN_MS))]);
    }
  }

  /** The process group of the step, then every other process of the agent user except the spare. */
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
    if (user) killAgentProcesses(user.uid, this.spare?.child.pid);
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
    const output = new OutputCollector(o.maxOutputBytes);
    const warm: Warm = { child, output, ready: Promise.resolve(), exited: false, drained: Promise.resolve() };
    const ended = (s: NodeJS.ReadableStream | null) => new Promise<void>((r) => (s ? s.on("close", () => r()).on("error", () => r()) : r()));
    child.stdout!.on("data", (d: Buffer) => output.write(d));
    child.stderr!.on("data", (d: Buffer) => output.write(d));
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

function send(warm: Warm, m: ToWorker | WorkerInit): void {
  if (warm.exited || !warm.child.stdin?.writable) return;
  warm.child.stdin.write(`${JSON.stringify(m)}\n`);
}

/** How a step whose process ended before reporting `done` failed. */
function exitError(code: number | null, signal: NodeJS.Signals | null, reason: string | undefined, heapMb: number): NonNullable<StepResult["error"]> {
  if (reason) return { kind: "crash", message: reason };
  // V8 aborts (SIGABRT, or exit 134 through a shell) when the heap limit is reached.
  if (signal === "SIGABRT" || code === 134) return { kind: "crash", message: `the step ran out of memory (heap limit ${heapMb} MiB)` };
  if (signal) return { kind: "crash", message: `the step process was killed (${signal})` };
  return { kind: "runtime", message: `the step called process.exit(${code})` };
}

function failed(kind: StepErrorKind, message: string, durationMs: number): StepResult {
  return { ok: false, output: "", outputBytes: 0, truncatedBytes: 0, error: { kind, message }, durationMs };
}

/** Keeps the message and the stack frames that point into the step's own code. */
function stepError(e: SerializedError, phase: "compile" | "run" | undefined, filename: string, lineCount: number): NonNullable<StepResult["error"]> {
  const kind: StepErrorKind = phase === "compile" ? "syntax" : "runtime";
  if (!e.stack) return { kind, message: `${e.name}: ${e.message}` };
  const lines = e.stack.split("\n");
  const head: string[] = [];
  const frames: string[] = [];
  for (const line of lines) {
    if (/^\s+at /.test(line)) {
      // Frames in the step's own lines; the line after them is the wrapper that called it.
      const at = new RegExp(`${filename.replace(/[.]/g, "\\.")}:(\\d+):`).exec(line);
      if (at && Number(at[1]) <= lineCount && frames.length < 5) frames.push(line);
    } else if (frames.length === 0 && head.length < 8) head.push(line);
  }
  const stack = [...head, ...frames].join("\n").trimEnd();
  return { kind, message: `${e.name}: ${e.message}`, stack };
}

/** Arguments that start the executor: the built `worker.js` next to this bundle, or `worker.ts` through tsx in a checkout. */
function workerEntry(workerPath: string | undefined): string[] {
  if (workerPath) return [workerPath];
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return [fileURLToPath(new URL("./worker.js", here))];
  // The ESM loader of tsx (resolving through require gives the CommonJS build).
  const tsx = pathToFileURL(createRequire(here).resolve("tsx/esm").replace(/\.cjs$/, ".mjs")).href;
  return ["--import", tsx, fileURLToPath(new URL("./worker.ts", here))];
}
