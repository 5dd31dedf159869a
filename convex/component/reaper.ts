/**
 * The reaper, run by the parent app's cron (`lakitu.reap(ctx)`). It reads only sessions that are due,
 * through the `by_state_reapAt` index, so its cost follows what is due, not the history of sessions.
 * A tick handles at most REAP_MAX_BATCH sessions (each costs up to REAP_RANGES_PER_SESSION index
 * ranges), so even after an outage with thousands due it stays far below Convex's 4,096 ranges.
 */
import { v } from "convex/values";
import { type MutationCtx } from "./_generated/server.js";
import { mutation } from "../model/functions.js";
import type { Doc } from "./_generated/dataModel.js";
import { internal } from "./_generated/api.js";
import { KILL_RETRY_MS, REAP_BATCH, REAP_MAX_BATCH } from "../shared/defaults.js";
import { endAgentPhase } from "../model/runs.js";
import { budgetStop } from "../model/budget.js";
import { isTerminal, transitionRun } from "../model/machine.js";
import { requestKill } from "../model/sessions.js";
import { listLimit } from "../model/validate.js";

const vReapResult = v.object({
  examined: v.number(),
  idle: v.number(),
  deadline: v.number(),
  neverStarted: v.number(),
  killRetried: v.number(),
  orphaned: v.number(),
});
type ReapResult = typeof vReapResult.type;

export const reap = mutation({
  args: { limit: v.optional(v.number()) },
  returns: vReapResult,
  handler: async (ctx, args) => {
    const now = Date.now();
    // Bounded by what a tick really costs (index ranges per session), not by a round number.
    let budget = listLimit(args.limit, REAP_BATCH, REAP_MAX_BATCH);
    const result: ReapResult = { examined: 0, idle: 0, deadline: 0, neverStarted: 0, killRetried: 0, orphaned: 0 };
    for (const state of ["intended", "starting", "running", "ending"] as const) {
      if (budget <= 0) break;
      const due = await ctx.db
        .query("sessions")
        .withIndex("by_state_reapAt", (q) => q.eq("state", state).gt("reapAt", 0).lte("reapAt", now))
        .take(budget);
      budget -= due.length;
      result.examined += due.length;
      for (const s of due) await reapOne(ctx, s, now, result);
    }
    if (result.examined > 0) console.log(JSON.stringify({ lakitu: "reap", ...result }));
    return result;
  },
});

async function reapOne(ctx: MutationCtx, s: Doc<"sessions">, now: number, result: ReapResult) {
  const run = await ctx.db.get(s.runId);
  if (s.state === "ending") {
    // A kill the provider never confirmed: ask again, and look again later.
    result.killRetried++;
    await ctx.db.patch(s._id, { reapAt: now + KILL_RETRY_MS });
    await ctx.scheduler.runAfter(0, internal.sessions.kill, { sessionId: s._id, attempt: 1 });
    return;
  }
  if (!run || isTerminal(run.status)) {
    result.orphaned++;
    await requestKill(ctx, s, "run_already_ended");
    return;
  }
  if (s.state === "intended" || s.state === "starting") {
    result.neverStarted++;
    const message = `no sandbox was recorded within the provision grace period (session ${s.state} since ${new Date(s.intendedAt).toISOString()})`;
    if (!(await endAgentPhase(ctx, run, { to: "failed", code: "never_started", message }, "reaper"))) {
      await transitionRun(ctx, run._id, "failed", { source: "reaper", reason: message }, { error: { code: "never_started", message } });
    }
    await requestKill(ctx, (await ctx.db.get(s._id))!, "never_started");
    return;
  }
  // running: past the deadline or idle past the stage's idleTimeoutMs.
  if (s.deadline !== undefined && now >= s.deadline) {
    if (await budgetStop(ctx, run, "maxDurationMs", "the run reached its deadline", "reaper")) {
      result.deadline++;
    }
  } else {
    const message = `no activity for ${Math.round((now - (s.lastActivityAt ?? s.intendedAt)) / 1000)} s (idle limit ${s.idleTimeoutMs} ms)`;
    // Counted only when the reaper ended the run (a completion in the same instant wins and is not idle).
    if (await endAgentPhase(ctx, run, { to: "failed", code: "idle_timeout", message }, "reaper")) result.idle++;
  }
  await requestKill(ctx, (await ctx.db.get(s._id))!, "reaped");
}
