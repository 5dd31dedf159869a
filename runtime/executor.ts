/**
 * Runs one step of agent code.
 *
 * The code is transpiled in-process with sucrase (TypeScript + ESM imports → CommonJS `require`), then
 * run in a fresh `worker_threads` Worker with a scrubbed environment and heap limits. Each worker runs
 * exactly one step and is thrown away, so nothing a step leaves behind (timers, patched globals,
 * half-finished promises) can leak into the next. To keep that cheap, the next worker is booted in
 * the background as soon as a step ends (while the model thinks), so a step normally starts on a
 * warm worker. A step that runs past its timeout is terminated (this also stops `while (true) {}`).
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import { transform } from "sucrase";
import { createOutputBuffer, readOutput } from "./outputBuffer.js";
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from "./workerProtocol.js";

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
  /** Forwards a gateway KSA call (the runtime calls the component's /ksa). */
  gateway: Gateway;
  /** Environment of the step; default `scrubEnv(process.env)`. */
  env?: Record<string, string>;
  /** Secrets whose values must not appear in the step's environment under any name. */
  secrets?: readonly string[];
  /** Default: 512 MB old generation, 64 MB young generation, 8 MB stack. */
  resourceLimits?: ResourceLimits;
  /** Boot the next worker as soon as a step ends. Default true. */
  prewarm?: boolean;
  /** See WorkerInit.ksaModule (tests). */
  ksaModule?: string;
  /** Warnings about the KSA module (failed to load, unknown allowed names). */
  onWarning?: (message: string) => void;
};

const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD/i;
const BOOT_TIMEOUT_MS = 30_000;
const DEFAULT_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 64, stackSizeMb: 8 };

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
  worker: Worker;
  output: SharedArrayBuffer;
  ready: Promise<void>;
  /** Set while the worker runs a step. */
  onMessage?: (m: FromWorker) => void;
  onExit?: (code: number, error?: Error) => void;
  exited: boolean;
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
      void warm.worker.terminate();
      return failed("crash", `the step worker failed to start: ${(e as Error).message}`, 0);
    }
    if (this.closed || opts.signal?.aborted || abort.signal.aborted) {
      this.current = undefined;
      void warm.worker.terminate();
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
      warm.onExit = (exitCode, error) => {
        if (error) {
          const oom = (error as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY";
          finish({ error: { kind: "crash", message: oom ? `the step ran out of memory (${error.message})` : `the step worker crashed: ${error.message}` } });
        } else {
          finish(exitCode === 0 ? {} : { error: { kind: "runtime", message: `the step called process.exit(${exitCode})` } });
        }
      };
      if (warm.exited) finish({ error: { kind: "crash", message: "the step worker exited before the step started" } });
      else warm.worker.postMessage({ type: "run", code: t.js, filename } satisfies ToWorker);
    });
    const durationMs = performance.now() - started;
    abort.abort();
    this.current = undefined;
    // The worker's memory is gone after terminate, but the shared buffer is ours.
    void warm.worker.terminate();
    const out = readOutput(warm.output);
    // Boot the next worker off the critical path: the caller gets this step's result first.
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

  /** Resolves when a worker is booted and waiting for the next step (boots one if none is). */
  async warm(): Promise<void> {
    if (this.closed) return;
    this.spare ??= this.boot();
    await this.spare.ready.catch(() => {});
  }

  /** Stops the running step (it resolves as `canceled`). */
  stopCurrent(): void {
    this.current?.abort.abort();
  }

  /** Stops everything: the running step and the spare worker. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopCurrent();
    const spare = this.spare;
    this.spare = undefined;
    if (spare) await spare.worker.terminate();
  }

  private async forward(warm: Warm, m: Extract<FromWorker, { type: "ksa" }>, signal: AbortSignal): Promise<void> {
    let reply: ToWorker;
    try {
      reply = { type: "ksa:result", id: m.id, ok: true, value: await this.options.gateway(m.ksa, m.fn, m.args, signal) };
    } catch (e) {
      reply = { type: "ksa:result", id: m.id, ok: false, message: (e as Error)?.message ?? String(e) };
    }
    if (!warm.exited && !signal.aborted) warm.worker.postMessage(reply);
  }

  private boot(): Warm {
    const o = this.options;
    const output = createOutputBuffer(o.maxOutputBytes);
    const init: WorkerInit = {
      output,
      workspace: o.workspace,
      outputDir: o.outputDir,
      allowedKsas: o.allowedKsas,
      stageName: o.stageName,
      ksaModule: o.ksaModule,
    };
    const entry = workerEntry();
    const worker = new Worker(entry.source, {
      eval: entry.eval,
      workerData: init,
      env: o.env ?? scrubEnv(process.env, o.secrets),
      resourceLimits: o.resourceLimits ?? DEFAULT_LIMITS,
      stdout: true,
      stderr: true,
      execArgv: [],
    });
    // Anything written around our console capture (it should be nothing) is discarded, not inherited.
    worker.stdout.resume();
    worker.stderr.resume();
    const warm: Warm = { worker, output, ready: Promise.resolve(), exited: false };
    warm.ready = new Promise<void>((resolve, reject) => {
      const bootTimer = setTimeout(() => reject(new Error(`no ready signal within ${BOOT_TIMEOUT_MS} ms`)), BOOT_TIMEOUT_MS);
      bootTimer.unref();
      let lastError: Error | undefined;
      worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          clearTimeout(bootTimer);
          this.warnOnce(m);
          resolve();
          return;
        }
        warm.onMessage?.(m);
      });
      worker.on("error", (e) => {
        lastError = e;
      });
      worker.on("exit", (code) => {
        warm.exited = true;
        clearTimeout(bootTimer);
        reject(lastError ?? new Error(`the worker exited with code ${code} while starting`));
        warm.onExit?.(code, lastError);
      });
    });
    warm.ready.catch(() => {});
    return warm;
  }

  private warnOnce(m: Extract<FromWorker, { type: "ready" }>): void {
    if (this.warned) return;
    this.warned = true;
    if (m.ksaError) this.options.onWarning?.(m.ksaError);
    if (m.ksaSkipped) this.options.onWarning?.(`the stage allows KSAs this runtime does not have: ${m.ksaSkipped.join(", ")}`);
  }
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

/** The worker entry: the built `worker.js` next to the bundle, or `worker.ts` through tsx in a checkout. */
function workerEntry(): { source: string | URL; eval: boolean } {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return { source: new URL("./worker.js", here), eval: false };
  // The ESM build of tsx's API (resolving through require gives the CommonJS one).
  const tsx = pathToFileURL(createRequire(here).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const entry = new URL("./worker.ts", here).href;
  return {
    source: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
    eval: true,
  };
}
