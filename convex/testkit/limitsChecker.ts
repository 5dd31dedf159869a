/**
 * Checks every query, mutation and action convex-test runs against Convex's production limits.
 *
 * Where it hooks: convex-test resolves a function by loading its module from the module map it was
 * given and calling the export's `_handler`. `LimitsChecker.modules()` wraps those loaders (and
 * `attach(t)` wraps `t.registerComponent`, so child components are covered too), so each handler
 * runs inside a wrapper that
 * - sizes and shapes the arguments and the return value (`getConvexSize`, as Convex measures values);
 * - in a mutation, shapes each value given to `db.insert/patch/replace` and sizes the resulting
 *   document (the growth of convex-test's `bytesWritten`, i.e. `getConvexSize` of the whole document);
 * - at the end of the outermost query/mutation of a transaction, reads convex-test's transaction
 *   metrics (`ctx.meta.getTransactionMetrics()`: documents and bytes read and written, index ranges,
 *   functions scheduled and their argument bytes, nested calls included);
 * - in an action, counts what it schedules.
 * A violation throws `LimitExceededError` inside the function (as a deployment fails it) and is
 * recorded, so a violation that the caller swallows (a scheduled function's failure is only logged)
 * still fails the test through `assertClean()`.
 *
 * Not measured: a V8 action's memory (convex-test runs actions in the test's own heap), the 1 s
 * execution time of queries and mutations, and documents a query scans but filters out (convex-test
 * applies `.filter()` before counting reads, a deployment counts them).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { convexSize, describeViolation, LimitExceededError, resolveLimits, shapeViolation, type LimitName, type LimitsOption, type LimitViolation, type ResolvedLimits } from "./limits.js";

type Modules = Record<string, () => Promise<any>>;
type FunctionType = LimitViolation["functionType"];
type Frame = { kind: "transaction" | "action"; open: boolean };

const TRANSACTION_METRICS: Array<[string, LimitName]> = [
  ["bytesRead", "bytesRead"],
  ["documentsRead", "documentsRead"],
  ["databaseQueries", "indexRanges"],
  ["bytesWritten", "bytesWritten"],
  ["documentsWritten", "documentsWritten"],
  ["functionsScheduled", "scheduledFunctions"],
  ["scheduledFunctionArgsBytes", "scheduledArgsBytes"],
];

export type LimitsCheckerOptions = {
  /** Default "cloud". */
  limits?: LimitsOption;
  /** Called for each violation as it happens (e.g. to log it in the embedded deployment). */
  onViolation?: (violation: LimitViolation) => void;
};

export class LimitsChecker {
  readonly violations: LimitViolation[] = [];
  /** Names of the functions that ran under the checker. */
  readonly checked = new Set<string>();
  readonly resolved: ResolvedLimits | null;
  private readonly frames = new AsyncLocalStorage<Frame>();
  private readonly wrapped = new WeakMap<object, Record<string, unknown>>();

  constructor(private readonly options: LimitsCheckerOptions = {}) {
    this.resolved = resolveLimits(options.limits);
  }

  /** The module map with every Convex function wrapped; `componentPath` "" for the root. */
  modules(modules: Modules, componentPath = ""): Modules {
    if (!this.resolved) return modules;
    const generated = Object.keys(modules).find((k) => k.includes("_generated"));
    const root = generated ? generated.split("_generated", 2)[0] : "./";
    const out: Modules = {};
    for (const [key, load] of Object.entries(modules)) {
      const modulePath = key.startsWith(root) ? key.slice(root.length).replace(/\.[^./]+$/, "") : key;
      const prefix = componentPath ? `${componentPath}/${modulePath}` : modulePath;
      out[key] = async () => this.wrapModule(await load(), prefix);
    }
    return out;
  }

  /** Makes `t.registerComponent` wrap the components' modules too. Returns `t`. */
  attach<T extends { registerComponent: (path: string, schema: any, modules: Modules) => void }>(t: T): T {
    if (!this.resolved) return t;
    const register = t.registerComponent.bind(t);
    t.registerComponent = (path, schema, modules) => register(path, schema, this.modules(modules, path));
    return t;
  }

  /** Throws one error listing every violation recorded so far (and forgets them). */
  assertClean(): void {
    if (this.violations.length === 0) return;
    const lines = this.violations.splice(0).map((v) => `- ${describeViolation(v)}`);
    throw new Error(`Convex limits exceeded (${lines.length}):\n${lines.join("\n")}`);
  }

  private wrapModule(module: Record<string, unknown>, modulePath: string): Record<string, unknown> {
    const cached = this.wrapped.get(module);
    if (cached) return cached;
    const out: Record<string, unknown> = { ...module };
    for (const [name, fn] of Object.entries(module)) {
      if (isConvexFunction(fn)) out[name] = this.wrapFunction(fn, `${modulePath}:${name}`);
    }
    this.wrapped.set(module, out);
    return out;
  }

  private wrapFunction(fn: ConvexFunction, functionName: string): ConvexFunction {
    const type: FunctionType = fn.isAction ? "action" : fn.isMutation ? "mutation" : "query";
    const limited = async (ctx: any, args: unknown) => {
      // Read at call time: a test that swaps the original's handler (fault injection) still takes effect.
      const handler = fn._handler;
      this.checked.add(functionName);
      this.checkValue(functionName, type, "argumentBytes", args, "arguments");
      const result = type === "action" ? await this.runAction(handler, ctx, args, functionName) : await this.runTransaction(handler, ctx, args, functionName, type);
      this.checkValue(functionName, type, "returnBytes", result, "return value");
      return result;
    };
    const wrapper = ((...a: unknown[]) => (fn as any)(...a)) as unknown as ConvexFunction;
    return Object.assign(wrapper, fn, { _handler: limited });
  }

  private async runTransaction(handler: Handler, ctx: any, args: unknown, functionName: string, type: FunctionType) {
    const outer = this.frames.getStore();
    const nested = outer?.kind === "transaction" && outer.open;
    const frame: Frame = { kind: "transaction", open: true };
    return await this.frames.run(frame, async () => {
      try {
        const inner = type === "mutation" ? { ...ctx, db: this.limitedWriter(ctx, functionName) } : ctx;
        const result = await handler(inner, args);
        if (!nested) await this.checkTransaction(ctx, functionName, type);
        return result;
      } finally {
        // A function scheduled from here inherits this async context but is its own transaction.
        frame.open = false;
      }
    });
  }

  private async runAction(handler: Handler, ctx: any, args: unknown, functionName: string) {
    const counted = { n: 0, bytes: 0 };
    const schedule = (method: "runAfter" | "runAt") => async (when: unknown, ref: unknown, fnArgs?: unknown) => {
      counted.n += 1;
      counted.bytes += convexSize(fnArgs ?? {});
      this.checkFigure(functionName, "action", "scheduledFunctions", counted.n);
      this.checkFigure(functionName, "action", "scheduledArgsBytes", counted.bytes);
      return await ctx.scheduler[method](when, ref, fnArgs);
    };
    const scheduler = ctx.scheduler && new Proxy(ctx.scheduler, { get: (target, p) => (p === "runAfter" || p === "runAt" ? schedule(p) : bindIfFunction(target, p)) });
    return await this.frames.run({ kind: "action", open: true }, () => handler({ ...ctx, scheduler }, args));
  }

  /** ctx.db with writes checked: the value's shape before, the whole document's size after. */
  private limitedWriter(ctx: any, functionName: string) {
    const db = ctx.db;
    let queue: Promise<unknown> = Promise.resolve();
    // Writes are measured one at a time so that the growth of bytesWritten is this write's document.
    const serial = <R>(fn: () => Promise<R>): Promise<R> => {
      const run = queue.then(fn);
      queue = run.catch(() => undefined);
      return run;
    };
    const write = (op: "insert" | "patch" | "replace") => (...a: unknown[]) =>
      serial(async () => {
        const value = a[a.length - 1];
        const shape = shapeViolation(value, this.resolved!.figures);
        const table = op === "insert" ? String(a[0]) : undefined;
        if (shape) throw this.violate({ functionName, functionType: "mutation", limit: shape.limit, measured: shape.measured, allowed: this.resolved!.figures[shape.limit], profile: this.resolved!.profile, detail: `db.${op}${table ? ` into ${table}` : ""} at ${shape.path}` });
        let size: number;
        let result: unknown;
        if (op === "patch") {
          // The merged document is only in the database: the growth of the transaction's bytesWritten.
          const before = await bytesWritten(ctx);
          result = await db[op](...a);
          size = (await bytesWritten(ctx)) - before;
        } else {
          // Inserted and replaced documents are the value plus the system fields: sized here as
          // convex-test sizes what it stored (getConvexSize of the document), without two metrics calls.
          result = await db[op](...a);
          size = writtenDocumentSize(value, op === "insert" ? result : a[a.length - 2]);
        }
        if (size > this.resolved!.figures.documentBytes) {
          throw this.violate({ functionName, functionType: "mutation", limit: "documentBytes", measured: size, allowed: this.resolved!.figures.documentBytes, profile: this.resolved!.profile, detail: `db.${op}${table ? ` into ${table}` : ""}` });
        }
        return result;
      });
    return new Proxy(db, { get: (target, p) => (p === "insert" || p === "patch" || p === "replace" ? write(p) : bindIfFunction(target, p)) });
  }

  private async checkTransaction(ctx: any, functionName: string, type: FunctionType) {
    const metrics = await ctx.meta?.getTransactionMetrics?.();
    if (!metrics) return;
    for (const [metric, limit] of TRANSACTION_METRICS) {
      const used = metrics[metric]?.used;
      if (typeof used === "number") this.checkFigure(functionName, type, limit, used, "whole transaction, nested calls included");
    }
  }

  private checkValue(functionName: string, type: FunctionType, limit: "argumentBytes" | "returnBytes", value: unknown, what: string) {
    this.checkFigure(functionName, type, limit, convexSize(value ?? null), what);
    const shape = shapeViolation(value, this.resolved!.figures);
    if (shape) throw this.violate({ functionName, functionType: type, limit: shape.limit, measured: shape.measured, allowed: this.resolved!.figures[shape.limit], profile: this.resolved!.profile, detail: `${what} at ${shape.path}` });
  }

  private checkFigure(functionName: string, functionType: FunctionType, limit: LimitName, measured: number, detail?: string) {
    const allowed = this.resolved!.figures[limit];
    if (measured > allowed) throw this.violate({ functionName, functionType, limit, measured, allowed, profile: this.resolved!.profile, detail });
  }

  private violate(v: LimitViolation): LimitExceededError {
    this.violations.push(v);
    this.options.onViolation?.(v);
    return new LimitExceededError(v);
  }
}

type Handler = (ctx: any, args: unknown) => Promise<unknown>;
type ConvexFunction = { isQuery?: boolean; isMutation?: boolean; isAction?: boolean; _handler: Handler };

function isConvexFunction(v: unknown): v is ConvexFunction {
  if (typeof v !== "function") return false;
  const f = v as unknown as Partial<ConvexFunction>;
  return !!(f.isQuery || f.isMutation || f.isAction) && typeof f._handler === "function";
}

function bindIfFunction(target: any, p: string | symbol) {
  const v = target[p];
  return typeof v === "function" ? v.bind(target) : v;
}

/**
 * The size of the document an insert or replace stored: the value (its undefined fields dropped, as
 * getConvexSize does) with `_id` and `_creationTime` (a number: 9 bytes whatever its value). Equal to
 * what convex-test adds to bytesWritten for the write; limitsChecker.test.ts checks both agree.
 */
export function writtenDocumentSize(value: unknown, id: unknown): number {
  const fields = value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  return convexSize({ ...fields, _id: String(id), _creationTime: 0 });
}

async function bytesWritten(ctx: any): Promise<number> {
  const metrics = await ctx.meta.getTransactionMetrics();
  return metrics.bytesWritten.used as number;
}
