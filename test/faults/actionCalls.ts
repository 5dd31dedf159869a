/**
 * `actionCalls`: a hook on convex-test's syscall layer that makes a component action's
 * `ctx.runMutation(...)` fail (before the mutation runs, or after it committed: the answer is lost) or
 * wait, as a deployment restart or a transient failure does to a running action.
 */
import { gate, type Gate } from "./waiting.js";

type CallHook = {
  name: string;
  /** Gets the mutation's args and the calling action's args. */
  match: (args: Record<string, unknown>, actionArgs: Record<string, unknown>) => boolean;
  mode: "before" | "after" | "hold";
  times: number;
  hits: number;
  gate?: Gate;
  /** Opens when the hook first fired. */
  fired: Gate;
};
const hooks: CallHook[] = [];
let installed: Promise<void> | undefined;

/**
 * convex-test hands each action a `ctx.runMutation` of its own; we wrap the handlers of the component's
 * actions (the registered function's `_handler`, which convex-test resolves on every call) so that their
 * `ctx.runMutation` goes through the hooks. The modules are the instances the embedded deployment runs.
 */
function install(): Promise<void> {
  return (installed ??= (async () => {
    const { getFunctionName } = await import("convex/server");
    const modules = [await import("../../convex/component/sessions.js"), await import("../../convex/component/qa.js"), await import("../../convex/component/watchdog.js")];
    for (const m of modules) {
      for (const fn of Object.values(m) as Array<{ isAction?: boolean; _handler?: (ctx: any, args: any) => Promise<unknown> }>) {
        if (!fn || !fn.isAction || typeof fn._handler !== "function") continue;
        const inner = fn._handler;
        fn._handler = (ctx: any, args: any) =>
          inner(
            {
              ...ctx,
              runMutation: async (ref: any, margs: Record<string, unknown>) => {
                const name = getFunctionName(ref);
                const hook = hooks.find((h) => h.name === name && h.hits < h.times && h.match(margs ?? {}, args ?? {}));
                if (!hook) return await ctx.runMutation(ref, margs);
                hook.hits++;
                hook.fired.open();
                const lost = new Error(`Transient error: the action's call to ${name} was interrupted (injected)`);
                if (hook.mode === "before") throw lost;
                if (hook.mode === "hold") {
                  await hook.gate!.promise;
                  return await ctx.runMutation(ref, margs);
                }
                await ctx.runMutation(ref, margs);
                throw lost;
              },
            },
            args,
          );
      }
    }
  })());
}

export const actionCalls = {
  install,
  /**
   * The next `times` calls of mutation `name` (e.g. "sessions:started") from one of the component's
   * actions whose args match fail: `before` — the mutation never runs; `after` — it commits and the
   * action gets an error instead of its answer.
   */
  fail(name: string, match: CallHook["match"], mode: "before" | "after", times = 1): CallHook {
    const h: CallHook = { name, match, mode, times, hits: 0, fired: gate() };
    hooks.push(h);
    return h;
  },
  /** The next matching call waits until the returned hook's gate opens. */
  hold(name: string, match: CallHook["match"]): CallHook & { gate: Gate } {
    const h = { name, match, mode: "hold" as const, times: 1, hits: 0, gate: gate(), fired: gate() };
    hooks.push(h);
    return h;
  },
};
