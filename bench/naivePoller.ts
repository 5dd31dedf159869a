/**
 * The naive baseline of the orchestration benchmark: the design a user would write first, one action
 * that watches the sandbox by asking the provider for its status every second until it is gone.
 * Registered as an extra module (`benchNaive`) in the benchmark's own convex-test instance only.
 *
 * convex-test does not stop an action at Convex's limit (an action may run at most 10 minutes), so the
 * action stops itself there, with the error Convex would give it: an agent that works longer than
 * that outlives its watcher, and nothing notices when it ends.
 */
import { v } from "convex/values";
import { actionGeneric, type FunctionHandle } from "convex/server";

/** Convex's limit on an action's execution time. */
export const ACTION_LIMIT_MS = 10 * 60_000;

/**
 * The last watch: polls made, the poll whose sleep is armed, and how it ended (the bench runs in the
 * same process as its convex-test instance, and steps the fake clock only once the action slept again).
 */
export const lastWatch = { polls: 0, armed: 0, outcome: "" };

function done(polls: number, outcome: string) {
  Object.assign(lastWatch, { polls, outcome });
  return { polls, outcome };
}

export const watch = actionGeneric({
  args: { providerHandle: v.string(), sandboxId: v.string(), everyMs: v.number() },
  returns: v.object({ polls: v.number(), outcome: v.string() }),
  handler: async (ctx, { providerHandle, sandboxId, everyMs }) => {
    const started = Date.now();
    const provider = providerHandle as FunctionHandle<"action", { request: { op: "status"; sandboxId: string } }, { ok: boolean; state?: string }>;
    for (let polls = 1; ; polls++) {
      lastWatch.polls = polls;
      const status = await ctx.runAction(provider, { request: { op: "status", sandboxId } });
      if (status.ok && status.state === "gone") return done(polls, "saw the sandbox end");
      // A fixed rate (as setInterval would): the next poll is due everyMs after the previous one began.
      const next = started + polls * everyMs;
      if (next - started > ACTION_LIMIT_MS) return done(polls, "killed at Convex's 10-minute action limit");
      lastWatch.armed = polls;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
  },
});
