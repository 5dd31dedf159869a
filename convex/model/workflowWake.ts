/**
 * Ending a card run's workflow without `workflow.cancel`. A cancel bumps the workflow's generation
 * while a step may still be in flight (the provision action, QA, the workflow's own scheduled run); when
 * that step finishes, @convex-dev/workflow logs "Invalid generation number" / "already has generation
 * number" at error level, on every cancel. Instead the workflow is woken from the wait it is in (or will
 * be in) and runs to its end by itself: every step after the agent phase sees the run canceled and does
 * nothing (its last step kills again, skips QA and leaves a card that is no longer its own; `afterReview`
 * too).
 */
import type { Doc } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import { AGENT_DONE, REVIEW_DONE, workflow } from "./workflowManager.js";

/**
 * The run (as it was before it ended) was provisioning or running: its workflow waits, or is about to
 * wait, for the end of the agent phase. `agentDoneSent` makes a provision step still in flight wait for
 * the event too (`agentPhaseBegun`, `started`), so the event is always consumed.
 */
export async function releaseAgentWait(ctx: MutationCtx, before: Doc<"runs">): Promise<void> {
  if (!before.workflowId || before.agentDoneSent) return;
  if (before.status !== "provisioning" && before.status !== "running") return;
  await ctx.db.patch(before._id, { agentDoneSent: true });
  await workflow.sendEvent(ctx, { workflowId: before.workflowId as never, name: AGENT_DONE, value: { status: "canceled" } });
}

/** The run's card waits for review: its workflow waits for the decision. */
export async function releaseReviewWait(ctx: MutationCtx, run: Doc<"runs">): Promise<void> {
  if (!run.workflowId || run.review?.state !== "pending") return;
  await workflow.sendEvent(ctx, { workflowId: run.workflowId as never, name: REVIEW_DONE, value: { state: "canceled" } });
}
