/**
 * Counts what the embedded deployment executes: every query, mutation and action (scheduled, called
 * from another function or from the test, in any component), every HTTP request the routes answer, and
 * the documents each top-level mutation wrote (`ctx.meta.getTransactionMetrics().documentsWritten`,
 * nested mutations included). The benchmark reads these to report measured, not estimated, costs.
 *
 * Where it hooks: like `LimitsChecker`, it wraps the module loaders given to convex-test (`modules`) and
 * `t.registerComponent` (`attach`), replacing each exported function's `_handler` by a counting one.
 */
import { AsyncLocalStorage } from "node:async_hooks";

type Modules = Record<string, () => Promise<any>>;
type Handler = (ctx: any, args: unknown) => Promise<unknown>;

/** Per function: executions; for a top-level mutation, what its transaction did (nested calls included). */
export type FunctionCount = { calls: number; documentsWritten: number; documentsRead: number; indexRanges: number };

export type CountSnapshot = {
  /** Function executions by kind (HTTP: requests served by the routes). */
  queries: number;
  mutations: number;
  actions: number;
  http: number;
  /** Documents written by mutations (inserts, patches, replaces and deletes). */
  documentsWritten: number;
  /** By function name (`module:export`, a child component's prefixed with its path: `workflow/journal:load`). */
  byFunction: Record<string, FunctionCount>;
};

const FIGURES = ["calls", "documentsWritten", "documentsRead", "indexRanges"] as const;

export class FunctionCounter {
  private counts: CountSnapshot = empty();
  private readonly wrapped = new WeakMap<object, Record<string, unknown>>();
  /** The mutation being run in this async context; `open` until it returns (scheduled work inherits the context). */
  private readonly frames = new AsyncLocalStorage<{ open: boolean }>();

  /** The counts so far (a copy). */
  snapshot(): CountSnapshot {
    return { ...this.counts, byFunction: Object.fromEntries(Object.entries(this.counts.byFunction).map(([k, c]) => [k, { ...c }])) };
  }

  /** What ran between `before` and now. */
  since(before: CountSnapshot): CountSnapshot {
    const now = this.snapshot();
    const byFunction: Record<string, FunctionCount> = {};
    for (const [k, c] of Object.entries(now.byFunction)) {
      const was = before.byFunction[k];
      if (c.calls === (was?.calls ?? 0)) continue;
      byFunction[k] = Object.fromEntries(FIGURES.map((f) => [f, c[f] - (was?.[f] ?? 0)])) as FunctionCount;
    }
    return {
      queries: now.queries - before.queries,
      mutations: now.mutations - before.mutations,
      actions: now.actions - before.actions,
      http: now.http - before.http,
      documentsWritten: now.documentsWritten - before.documentsWritten,
      byFunction,
    };
  }

  /** Counts one HTTP request (the deployment's bridge calls it). */
  httpRequest(): void {
    this.counts.http++;
  }

  /** The module map with every exported Convex function counted; `componentPath` "" for the root. */
  modules(modules: Modules, componentPath = ""): Modules {
    const out: Modules = {};
    for (const [key, load] of Object.entries(modules)) {
      const modulePath = key.replace(/^\.\//, "").replace(/\.[^./]+$/, "");
      const name = componentPath ? `${componentPath}/${modulePath}` : modulePath;
      out[key] = async () => this.wrapModule(await load(), name);
    }
    return out;
  }

  /** Makes `t.registerComponent` count the child components' functions too. Returns `t`. */
  attach<T extends { registerComponent: (path: string, schema: any, modules: Modules) => void }>(t: T): T {
    const register = t.registerComponent.bind(t);
    t.registerComponent = (path, schema, modules) => register(path, schema, this.modules(modules, path));
    return t;
  }

  private wrapModule(module: Record<string, any>, modulePath: string): Record<string, unknown> {
    const cached = this.wrapped.get(module);
    if (cached) return cached;
    const out: Record<string, unknown> = { ...module };
    for (const [name, fn] of Object.entries(module)) {
      if (typeof fn !== "function" || typeof fn._handler !== "function" || !(fn.isQuery || fn.isMutation || fn.isAction)) continue;
      out[name] = this.wrapFunction(fn, `${modulePath}:${name}`);
    }
    this.wrapped.set(module, out);
    return out;
  }

  private wrapFunction(fn: any, key: string): unknown {
    const counted: Handler = async (ctx, args) => {
      // Read at call time: a test that swaps the original's handler still takes effect.
      const handler = fn._handler as Handler;
      const count = (this.counts.byFunction[key] ??= { calls: 0, documentsWritten: 0, documentsRead: 0, indexRanges: 0 });
      count.calls++;
      if (fn.isAction) {
        this.counts.actions++;
        return await handler(ctx, args);
      }
      if (fn.isQuery) {
        this.counts.queries++;
        return await handler(ctx, args);
      }
      this.counts.mutations++;
      // A nested mutation shares its caller's transaction: the caller's metrics at the end include it.
      const nested = this.frames.getStore()?.open === true;
      const frame = { open: true };
      return await this.frames.run(frame, async () => {
        try {
          const result = await handler(ctx, args);
          if (!nested) {
            const m = await ctx.meta.getTransactionMetrics();
            this.counts.documentsWritten += m.documentsWritten.used;
            count.documentsWritten += m.documentsWritten.used;
            count.documentsRead += m.documentsRead.used;
            count.indexRanges += m.databaseQueries.used;
          }
          return result;
        } finally {
          frame.open = false;
        }
      });
    };
    const wrapper = (...a: unknown[]) => fn(...a);
    return Object.assign(wrapper, fn, { _handler: counted });
  }
}

function empty(): CountSnapshot {
  return { queries: 0, mutations: 0, actions: 0, http: 0, documentsWritten: 0, byFunction: {} };
}
