/**
 * The executor process: boots (console capture, the "lakitu/ksa" module), runs exactly one step's code,
 * reports how it settled, and is then killed by the runtime. It runs agent code, so it holds nothing
 * worth stealing: no session token (not in its memory, environment or files), and — in a sandbox that
 * provides an agent user — another uid than the runtime and no network. KSA calls that need the server
 * are requests to the runtime over the protocol in workerProtocol.ts.
 *
 * The code runs as the body of an async function, so top-level `await` works; its `require` admits
 * "lakitu/ksa" and Node built-ins. Console output (stdout and stderr) goes to stdout, in order.
 */
import { Console } from "node:console";
import { writeSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import vm from "node:vm";
import { TO_PARENT_FD, type FromWorker, type SerializedError, type ToWorker, type WorkerInit } from "./workerProtocol.js";

type KsaImpl = {
  createKsaModule: (ctx: unknown, defs: Array<{ name: string }>, allowed: string[], stageName: string) => unknown;
  BUILTIN_KSAS: Array<{ name: string; defaultAllowed: boolean }>;
};

const post = (m: FromWorker) => {
  writeSync(TO_PARENT_FD, `${JSON.stringify(m)}\n`);
};

// Console capture: stderr joins stdout, so the runtime reads one ordered stream.
const stdoutWrite = process.stdout.write.bind(process.stdout);
process.stderr.write = stdoutWrite as typeof process.stderr.write;
globalThis.console = new Console({ stdout: process.stdout, stderr: process.stdout, colorMode: false });

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
const lines = input[Symbol.asyncIterator]();
const first = await lines.next();
if (first.done) process.exit(0);
const init = JSON.parse(first.value) as WorkerInit;

// Gateway calls cross to the runtime, which checks the stage's policy and calls the component.
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
  // A KSA the stage allows but this runtime does not have must not take down the others.
  const allowed = init.allowedKsas.filter((n) => known.has(n));
  ksaSkipped = init.allowedKsas.filter((n) => !known.has(n));
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
  if (e instanceof Error) return { name: String(e.name).slice(0, 200), message: String(e.message).slice(0, 16_384), stack: e.stack?.slice(0, 16_384) };
  if (e && typeof e === "object" && "message" in e) return { name: "Error", message: String((e as { message: unknown }).message).slice(0, 16_384) };
  return { name: "Error", message: `a non-Error value was thrown: ${safeString(e)}`.slice(0, 16_384) };
}

function safeString(v: unknown): string {
  try {
    return typeof v === "string" ? JSON.stringify(v) : String(JSON.stringify(v) ?? v);
  } catch {
    return String(v);
  }
}

// Errors that escape the step's promise (a throwing timer callback, a forgotten rejected promise) end
// the step with that error instead of killing the process silently.
process.on("uncaughtException", (e) => finish(e, "run"));
process.on("unhandledRejection", (e) => finish(e, "run"));

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

for await (const line of { [Symbol.asyncIterator]: () => lines }) {
  const m = JSON.parse(line) as ToWorker;
  if (m.type === "ksa:result") {
    const call = calls.get(m.id);
    calls.delete(m.id);
    if (!call) continue;
    if (m.ok) call.resolve(m.value);
    else call.reject(new Error(m.message));
  } else if (m.type === "run") void run(m.code, m.filename);
}
