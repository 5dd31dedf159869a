/**
 * Faults injected into the component itself, to prove the checker reports what it claims to check.
 * convex-test resolves a registered function's `_handler` on every call, so wrapping it changes what
 * the embedded deployment runs (the modules are the instances it imported). Each injection returns its
 * undo.
 */
type Registered = { _handler?: (ctx: any, args: any) => Promise<unknown> };

async function wrap(load: () => Promise<Record<string, unknown>>, name: string, around: (inner: NonNullable<Registered["_handler"]>) => NonNullable<Registered["_handler"]>): Promise<() => void> {
  const fn = (await load())[name] as Registered | undefined;
  if (!fn || typeof fn._handler !== "function") throw new Error(`inject: ${name} is not a registered function with a handler`);
  const inner = fn._handler;
  fn._handler = around(inner);
  return () => {
    fn._handler = inner;
  };
}

/** The watchdog never acts: its scheduled `fire` does nothing (heartbeats stop mattering). */
export async function disableWatchdog(): Promise<() => void> {
  return await wrap(() => import("../../convex/component/watchdog.js"), "fire", () => async () => null);
}

/**
 * Token revocation at the end of the agent phase and at the end of the session is undone: the
 * session keeps its token hash after `qa.beginChecks` (where the workflow's last step revokes and kills) and after
 * `markEnded` (the kill's confirmation).
 */
export async function skipRevocation(): Promise<() => void> {
  const keep = (sessionOf: (ctx: any, args: any) => Promise<any>) => (inner: NonNullable<Registered["_handler"]>) => async (ctx: any, args: any) => {
    const before = await sessionOf(ctx, args);
    const result = await inner(ctx, args);
    if (before?.tokenHash) await ctx.db.patch(before._id, { tokenHash: before.tokenHash, revokedAt: undefined });
    return result;
  };
  const undoAfter = await wrap(() => import("../../convex/component/qa.js"), "beginChecks", keep(async (ctx, { runId }) => {
    const run = await ctx.db.get(runId);
    return run?.sessionId ? await ctx.db.get(run.sessionId) : null;
  }));
  const undoEnded = await wrap(() => import("../../convex/component/sessions.js"), "markEnded", keep(async (ctx, { sessionId }) => await ctx.db.get(sessionId)));
  return () => {
    undoAfter();
    undoEnded();
  };
}
