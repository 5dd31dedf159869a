/**
 * A step worker: boots once (console capture, the "lakitu/ksa" module), runs exactly one step's
 * code, reports how it settled, and is then terminated by the parent. The code runs as the body of an
 * async function, so top-level `await` works; its `require` admits "lakitu/ksa" and Node built-ins.
 */
import { Console } from "node:console";
import { EventEmitter } from "node:events";
import { createRequire, isBuiltin } from "node:module";
import { join } from "node:path";
import vm from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { OutputWriter } from "./outputBuffer.js";
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from "./workerProtocol.js";

type KsaImpl = {
  createKsaModule: (ctx: unknown, defs: Array<{ name: string }>, allowed: string[], stageName: string) => unknown;
  BUILTIN_KSAS: Array<{ name: string; defaultAllowed: boolean }>;
  /** The stage's list when non-empty, else every default-allowed KSA. */
  resolveAllowed?: (stageAllowed: string[], defs: Array<{ name: string; defaultAllowed: boolean }>) => string[];
};

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

// Console capture: everything printed goes to the shared output buffer, in order, synchronously.
const out = new OutputWriter(init.output);
const sink = Object.assign(new EventEmitter(), {
  write(chunk: unknown) {
    out.write(typeof chunk === "string" || chunk instanceof Uint8Array ? chunk : String(chunk));
    return true;
  },
});
const stream = sink as unknown as NodeJS.WritableStream;
globalThis.console = new Console({ stdout: stream, stderr: stream, colorMode: false });
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: unknown, encOrCb?: unknown, cb?: unknown) => {
    sink.write(chunk);
    const done = typeof encOrCb === "function" ? encOrCb : cb;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}

// Gateway calls cross to the parent, which calls the component's /ksa route.
let nextCall = 0;
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
function gateway(ksa: string, fn: string, args: unknown): Promise<unknown> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    post({ type: "ksa", id, ksa, fn, args: args === undefined ? undefined : JSON.parse(JSON.stringify(args)) });
  });
}

let ksaModule: unknown;
let ksaError: string | undefined;
let ksaSkipped: string[] | undefined;
try {
  const impl = (init.ksaModule ? await import(init.ksaModule) : await import("./ksaBuiltin.js")) as KsaImpl;
  const known = new Set(impl.BUILTIN_KSAS.map((d) => d.name));
  // A KSA the component allows but this runtime does not have must not take down the others.
  const requested = impl.resolveAllowed ? impl.resolveAllowed(init.allowedKsas, impl.BUILTIN_KSAS) : init.allowedKsas;
  const allowed = requested.filter((n) => known.has(n));
  ksaSkipped = requested.filter((n) => !known.has(n));
  ksaModule = impl.createKsaModule({ workspace: init.workspace, outputDir: init.outputDir, gateway }, impl.BUILTIN_KSAS, allowed, init.stageName);
} catch (e) {
  ksaError = `the "lakitu/ksa" module failed to load: ${(e as Error)?.message ?? String(e)}`;
}

const nodeRequire = createRequire(join(init.workspace, "step.js"));
function stepRequire(id: string): unknown {
  if (id === "lakitu/ksa") {
    if (ksaError !== undefined) throw new Error(ksaError);
    return ksaModule;
  }
  if (isBuiltin(id)) return nodeRequire(id);
  throw new Error(`Cannot import "${id}": only "lakitu/ksa" and Node built-ins (node:fs, node:path, ...) are available here`);
}

let settled = false;
function finish(error?: unknown, phase?: "compile" | "run"): void {
  if (settled) return;
  settled = true;
  post(error === undefined ? { type: "done" } : { type: "done", error: serialize(error), phase });
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  if (e && typeof e === "object" && "message" in e) return { name: "Error", message: String((e as { message: unknown }).message) };
  return { name: "Error", message: `a non-Error value was thrown: ${safeString(e)}` };
}

function safeString(v: unknown): string {
  try {
    return typeof v === "string" ? JSON.stringify(v) : String(JSON.stringify(v) ?? v);
  } catch {
    return String(v);
  }
}

// Errors that escape the step's promise (a throwing timer callback, a forgotten rejected promise) end
// the step with that error instead of killing the worker silently.
process.on("uncaughtException", (e) => finish(e, "run"));
process.on("unhandledRejection", (e) => finish(e, "run"));

port.on("message", (m: ToWorker) => {
  if (m.type === "ksa:result") {
    const call = calls.get(m.id);
    calls.delete(m.id);
    if (!call) return;
    if (m.ok) call.resolve(m.value);
    else call.reject(new Error(m.message));
    return;
  }
  if (m.type === "run") void run(m.code, m.filename);
});

async function run(code: string, filename: string): Promise<void> {
  let fn: (...args: unknown[]) => Promise<void>;
  try {
    // One line of wrapper, so the step's line numbers stay the source's.
    fn = vm.compileFunction(`return (async () => {${code}\n})();`, ["require", "module", "exports", "__filename", "__dirname"], {
      filename,
    }) as typeof fn;
  } catch (e) {
    finish(e, "compile");
    return;
  }
  const module = { exports: {} as Record<string, unknown> };
  try {
    await fn(stepRequire, module, module.exports, join(init.workspace, filename), init.workspace);
    finish();
  } catch (e) {
    finish(e, "run");
  }
}

post({ type: "ready", ksaError, ksaSkipped: ksaSkipped?.length ? ksaSkipped : undefined });
