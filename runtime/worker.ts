/**
 * The executor process: boots (console capture, the "lakitu/ksa" module), then runs the steps of one
 * run, one at a time, and reports how each settled. It runs agent code, so it holds nothing worth
 * stealing: no session token (not in its memory, environment or files), and — in a sandbox that
 * provides an agent user — another uid than the runtime and no network. KSA calls that need the server
 * are requests to the runtime over the protocol in workerProtocol.ts.
 *
 * The code runs as the body of an async function, so top-level `await` works; its `require` admits
 * "lakitu/ksa" and Node built-ins. Console output (stdout and stderr) goes to stdout, in order.
 *
 * The process is reused for the next step only when this step left nothing running that could act
 * later: `done.leftover` names what it left (a timer, a socket, a pending KSA call, a filled heap) and
 * the runtime then replaces the process. Before each step the cwd and the environment are reset.
 */
import { Console } from "node:console";
import { writeSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { getHeapStatistics } from "node:v8";
import vm from "node:vm";
import { TO_PARENT_FD, type FromWorker, type SerializedError, type ToWorker, type WorkerInit } from "./workerProtocol.js";

type KsaImpl = {
  createKsaModule: (ctx: unknown, defs: Array<{ name: string }>, allowed: string[], stageName: string) => unknown;
  BUILTIN_KSAS: Array<{ name: string; defaultAllowed: boolean }>;
};

// What this file uses, taken before any step can replace it on the globals.
const stringify = JSON.stringify;
const parseJson = JSON.parse;
const realSetTimeout = setTimeout;
const realClearTimeout = clearTimeout;
const realSetImmediate = setImmediate;
/** Requests that end by themselves right after the operation that started them. */
const TRANSIENT = /^a (CloseReq|FSReqCallback|FSReqPromise|ShutdownWrap|WriteWrap) /;
/** How long the output pipes may take to take the end-of-step mark before the step is reported anyway. */
const MARK_WAIT_MS = 1_000;
const post = (m: FromWorker) => {
  writeSync(TO_PARENT_FD, `${stringify(m)}\n`);
};

// Console capture: stderr joins stdout, so the runtime reads one ordered stream.
const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);
process.stderr.write = stdoutWrite as typeof process.stderr.write;
globalThis.console = new Console({ stdout: process.stdout, stderr: process.stdout, colorMode: false });

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
const lines = input[Symbol.asyncIterator]();
const first = await lines.next();
if (first.done) process.exit(0);
const init = parseJson(first.value) as WorkerInit;
const baseEnv = { ...process.env };

// Gateway calls cross to the runtime, which checks the stage's policy and calls the component.
let nextCall = 0;
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
function gateway(ksa: string, fn: string, args: unknown): Promise<unknown> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    post({ type: "ksa", id, ksa, fn, args: args === undefined ? undefined : parseJson(stringify(args)) });
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

// Timers a step starts and does not end. Unref'd ones keep no event loop alive, so
// getActiveResourcesInfo does not list them: the globals are wrapped to see them.
const liveTimers = new Set<unknown>();
trackTimers();

type Step = { settled: boolean; mark: string; resources: Map<string, number> };
let current: Step | undefined;

function finish(error?: unknown, phase?: "compile" | "run"): void {
  const step = current;
  if (!step || step.settled) return;
  step.settled = true;
  const message: FromWorker = error === undefined ? { type: "done" } : { type: "done", error: serialize(error), phase };
  // The mark ends the step's output on both pipes, after everything the step wrote through them.
  let pending = 2;
  const report = (leftover: string | undefined) => {
    if (pending < 0) return;
    pending = -1;
    realClearTimeout(stuck);
    current = undefined;
    post(leftover ? { ...message, leftover } : message);
  };
  // A step that closed or clogged its own stdout: reported anyway, and the process is replaced.
  const stuck = realSetTimeout(() => report("the output pipes did not take the end of the step"), MARK_WAIT_MS);
  const written = () => {
    if (--pending > 0) return;
    realClearTimeout(stuck);
    settle(0);
  };
  // Closing a file the step awaited finishes a moment after the step: such requests get a few turns.
  const settle = (tries: number) => {
    const leftover = leftoverOf(step);
    // (An immediate, not a timer: inside a timer's callback that timer still counts as active.)
    if (leftover && TRANSIENT.test(leftover) && tries < 10) realSetImmediate(() => settle(tries + 1));
    else report(leftover);
  };
  try {
    stdoutWrite(step.mark, written);
    stderrWrite(step.mark, written);
  } catch {
    report("the output pipes are closed");
  }
}

/** What the step left that could still act (undefined: nothing): then the runtime replaces this process. */
function leftoverOf(step: Step): string | undefined {
  if (liveTimers.size > 0) return `${liveTimers.size} timer(s) still set`;
  if (calls.size > 0) return `${calls.size} KSA call(s) still pending`;
  const now = countResources();
  for (const [type, n] of now) if (n > (step.resources.get(type) ?? 0)) return `a ${type} still open`;
  const heap = getHeapStatistics();
  if (heap.used_heap_size > heap.heap_size_limit / 2) return "more than half of the heap in use";
  return undefined;
}

function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) return { name: String(e.name).slice(0, 200), message: String(e.message).slice(0, 16_384), stack: e.stack?.slice(0, 16_384) };
  if (e && typeof e === "object" && "message" in e) return { name: "Error", message: String((e as { message: unknown }).message).slice(0, 16_384) };
  return { name: "Error", message: `a non-Error value was thrown: ${safeString(e)}`.slice(0, 16_384) };
}

function safeString(v: unknown): string {
  try {
    return typeof v === "string" ? stringify(v) : String(stringify(v) ?? v);
  } catch {
    return String(v);
  }
}

// Errors that escape the step's promise (a throwing timer callback, a forgotten rejected promise) end
// the step with that error instead of killing the process silently.
process.on("uncaughtException", (e) => finish(e, "run"));
process.on("unhandledRejection", (e) => finish(e, "run"));

/** Each step starts where the first did: the workspace as cwd, the environment the process got. */
function resetProcess(): void {
  process.chdir(init.workspace);
  for (const key of Object.keys(process.env)) if (!(key in baseEnv)) delete process.env[key];
  Object.assign(process.env, baseEnv);
  process.exitCode = undefined;
}

async function run(code: string, filename: string, mark: string): Promise<void> {
  current = { settled: false, mark, resources: countResources() };
  try {
    resetProcess();
  } catch (e) {
    finish(e, "run");
    return;
  }
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

function trackTimers(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  for (const [set, clear, once] of [
    ["setTimeout", "clearTimeout", true],
    ["setInterval", "clearInterval", false],
    ["setImmediate", "clearImmediate", true],
  ] as const) {
    const realSet = g[set] as (cb: (...a: unknown[]) => unknown, ...rest: unknown[]) => unknown;
    const realClear = g[clear] as (h: unknown) => void;
    const wrapped = function (this: unknown, cb: unknown, ...rest: unknown[]) {
      if (typeof cb !== "function") return realSet.call(this, cb as never, ...rest);
      const handle = realSet.call(
        this,
        function (this: unknown, ...a: unknown[]) {
          if (once) liveTimers.delete(handle);
          return (cb as (...x: unknown[]) => unknown).apply(this, a);
        },
        ...rest,
      );
      liveTimers.add(handle);
      return handle;
    };
    // `util.promisify(setTimeout)` keeps working.
    const custom = (realSet as unknown as Record<symbol, unknown>)[promisify.custom];
    if (custom) Object.defineProperty(wrapped, promisify.custom, { value: custom });
    g[set] = wrapped;
    g[clear] = function (this: unknown, h: unknown) {
      // Node's timer functions take the handle or its numeric id.
      if (typeof h === "number" || typeof h === "string") {
        for (const t of liveTimers) if (Number(t) === Number(h)) liveTimers.delete(t);
      } else liveTimers.delete(h);
      return realClear.call(this, h);
    };
  }
}

post({ type: "ready", ksaError, ksaSkipped: ksaSkipped?.length ? ksaSkipped : undefined });

for await (const line of { [Symbol.asyncIterator]: () => lines }) {
  const m = parseJson(line) as ToWorker;
  if (m.type === "ksa:result") {
    const call = calls.get(m.id);
    calls.delete(m.id);
    if (!call) continue;
    if (m.ok) call.resolve(m.value);
    else call.reject(new Error(m.message));
  } else if (m.type === "run" && !current) void run(m.code, m.filename, m.mark);
}
