/**
 * A run that reaches its budget (maxSteps, maxCostUsd or maxDurationMs) stops spending at once: its
 * agent phase ends as "collecting", so the artifacts it already uploaded are checked. If they pass, the
 * run succeeds; if not, it fails with code `budget_exceeded` and the card is `paused` (resumeCard
 * continues it) instead of burning its remaining attempts.
 */
import type { Doc } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import { COMPONENT_EVENT_SEQ_BASE } from "../shared/defaults.js";
import type { BudgetLimit, TransitionSource } from "../shared/validators.js";
import { endAgentPhase } from "./runs.js";

/** Ends the agent phase on a budget; returns false when another writer ended it first. */
export async function budgetStop(ctx: MutationCtx, run: Doc<"runs">, limit: BudgetLimit, message: string, source: TransitionSource): Promise<boolean> {
  if (run.status !== "provisioning" && run.status !== "running") return false;
  await componentEvent(ctx, run, "budget_exceeded", "warn", `budget reached (${limit}): ${message}; collecting the deliverables made so far`);
  await ctx.db.patch(run._id, { budget: { limit, message } });
  return await endAgentPhase(ctx, (await ctx.db.get(run._id))!, { to: "collecting" }, source);
}

/** Events the component writes into a run's log, numbered above any runtime seq. */
export async function componentEvent(ctx: MutationCtx, run: Doc<"runs">, kind: string, level: "info" | "warn" | "error", text: string): Promise<void> {
  const last = await ctx.db
    .query("events")
    .withIndex("by_run_seq", (q) => q.eq("runId", run._id).gte("seq", COMPONENT_EVENT_SEQ_BASE))
    .order("desc")
    .first();
  await ctx.db.insert("events", { runId: run._id, seq: (last?.seq ?? COMPONENT_EVENT_SEQ_BASE - 1) + 1, kind, level, text, ts: Date.now() });
}
