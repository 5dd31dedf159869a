/**
 * The card-run workflow. Its journal has a fixed number of steps whatever the agent's duration:
 * begin, provision, one awaitEvent for the agent, settleRun (kill, QA, card settled) (+ one awaitEvent
 * and one step when the stage requires approval). Nothing here polls.
 */
import { v } from "convex/values";
import { vResultValidator, vWorkflowId } from "@convex-dev/workflow";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { internal } from "./_generated/api.js";
import { PROVISION_RETRY, WORKFLOW_CLEANUP_DELAY_MS } from "../shared/defaults.js";
import { getConfig, stageLimits } from "../model/config.js";
import { setCard, transitionRun, isTerminal } from "../model/machine.js";
import { advance, retryOrBlock } from "../model/runs.js";
import { requestKill, sessionOfRun } from "../model/sessions.js";
import { settingsOf } from "../model/settings.js";
import { AGENT_DONE, REVIEW_DONE, workflow } from "../model/workflowManager.js";

export const cardRun = workflow.define({
  args: { runId: v.id("runs") },
  returns: v.null(),
  handler: async (step, { runId }): Promise<null> => {
    const begun = await step.runMutation(internal.workflow.begin, { runId });
    if (!begun) return null;
    let awaitAgent = false;
    try {
      const provisioned = await step.runAction(internal.sessions.provision, { runId }, { retry: PROVISION_RETRY });
      awaitAgent = provisioned.awaitAgent;
    } catch (e) {
      await step.runMutation(internal.sessions.provisionFailed, { runId, message: e instanceof Error ? e.message : String(e) });
    }
    if (awaitAgent) await step.awaitEvent({ name: AGENT_DONE });
    // From the end of the agent phase to the card settled is one step (one workpool hop, not three): the
    // sandbox's kill, QA when the agent completed, and the card advanced, retried, blocked or parked for
    // review. Every part is idempotent (qa.ts), so an interrupted step (a restart, a transient failure)
    // is retried instead of failing the workflow.
    const { awaitReview } = await step.runAction(internal.qa.settleRun, { runId }, { retry: true });
    if (awaitReview) {
      await step.awaitEvent({ name: REVIEW_DONE });
      await step.runMutation(internal.workflow.afterReview, { runId });
    }
    return null;
  },
});

/** Loads card, stage and board, records the session as `intended` and moves the run to provisioning. */
export const begin = internalMutation({
  args: { runId: v.id("runs") },
  returns: v.boolean(),
  handler: async (ctx, { runId }) => {
    const run = await ctx.db.get(runId);
    if (!run || run.status !== "queued") return false;
    const card = await ctx.db.get(run.cardId);
    const stage = await ctx.db.get(run.stageId);
    const board = await ctx.db.get(run.boardId);
    if (!card || !stage || !board) {
      await transitionRun(ctx, runId, "failed", { source: "workflow", reason: "card, stage or board was deleted" }, {
        error: { code: "not_found", message: "card, stage or board was deleted before the run began" },
      });
      return false;
    }
    const config = await getConfig(ctx);
    const now = Date.now();
    const sessionId = await ctx.db.insert("sessions", {
      runId,
      cardId: card._id,
      generation: run.generation,
      providerHandle: run.providerHandle,
      state: "intended",
      intendedAt: now,
      idleTimeoutMs: stageLimits((await settingsOf(ctx, run)) ?? stage, config, run).idleTimeoutMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      reapAt: now + config.provisionGraceMs,
    });
    await transitionRun(ctx, runId, "provisioning", { source: "workflow", reason: "session recorded as intended" }, { sessionId });
    await setCard(ctx, card, { status: "running" }, { source: "workflow", reason: `run ${runId} provisioning` });
    return true;
  },
});

/** The agent phase is over: revoke the token and kill the sandbox (again, if whoever ended it did). */
export async function endAgentSandbox(ctx: MutationCtx, run: Doc<"runs">): Promise<void> {
  const session = await sessionOfRun(ctx, run);
  const completed = run.status === "collecting" || run.status === "checking";
  if (session) await requestKill(ctx, session, completed ? "completed" : (run.error?.code ?? run.status));
}

/**
 * Advances, parks for review, retries or blocks the card according to the run's outcome; says whether
 * the workflow must wait for a review. Idempotent: a card no longer `running` this run was settled
 * already (or taken over: stopped, moved, re-run), and is left as it is.
 */
export async function settleCard(ctx: MutationCtx, runId: Id<"runs">): Promise<{ awaitReview: boolean }> {
  const run = (await ctx.db.get(runId))!;
  const card = (await ctx.db.get(run.cardId))!;
  const stage = await ctx.db.get(run.stageId);
  const ours = card.currentRunId === run._id;
  if (!ours || card.status !== "running" || !stage || !isTerminal(run.status) || run.status === "canceled") {
    return { awaitReview: ours && card.status === "awaiting_review" && run.review?.state === "pending" };
  }
  if (run.status === "succeeded") {
    // Whether approval is needed is the run's setting: a stage changed meanwhile affects later runs.
    const settings = await settingsOf(ctx, run);
    if (settings?.requiresApproval) {
      await ctx.db.patch(runId, { review: { state: "pending", notes: [] } });
      await setCard(ctx, card, { status: "awaiting_review", note: run.qa?.summary }, {
        source: "workflow",
        reason: `"${settings.stageName}" requires approval`,
      });
      return { awaitReview: true };
    }
    await advance(ctx, run, card, stage);
  } else {
    await retryOrBlock(ctx, run, card, stage);
  }
  return { awaitReview: false };
}

/** A reviewer decided: approval advances the card, rejection retries with the notes (or blocks). */
export const afterReview = internalMutation({
  args: { runId: v.id("runs") },
  returns: v.null(),
  handler: async (ctx, { runId }) => {
    const run = (await ctx.db.get(runId))!;
    const card = (await ctx.db.get(run.cardId))!;
    const stage = await ctx.db.get(run.stageId);
    if (card.currentRunId !== run._id || card.status !== "awaiting_review" || !stage) return null;
    if (run.review?.state === "approved") await advance(ctx, run, card, stage);
    else await retryOrBlock(ctx, run, card, stage);
    return null;
  },
});

/**
 * Called when the workflow itself ends. A failed workflow (a bug, or a step that kept throwing) must not
 * leave the run or its sandbox behind: the run fails, the sandbox is killed and the card shows the error.
 */
export const onComplete = internalMutation({
  args: { workflowId: vWorkflowId, result: vResultValidator, context: v.id("runs") },
  returns: v.null(),
  handler: async (ctx, { workflowId, result, context: runId }) => {
    // The journal is kept a while for inspection, then removed (workflow.cleanup needs it finished).
    await ctx.scheduler.runAfter(WORKFLOW_CLEANUP_DELAY_MS, internal.lifecycle.cleanupWorkflow, { workflowId });
    if (result.kind !== "failed") return null;
    const run = await ctx.db.get(runId);
    if (!run) return null;
    const meta = { source: "workflow" as const, reason: `workflow failed: ${result.error}` };
    await transitionRun(ctx, runId, "failed", meta, { error: { code: "workflow_failed", message: result.error } });
    const session = await sessionOfRun(ctx, run);
    if (session) await requestKill(ctx, session, "workflow_failed");
    const card = await ctx.db.get(run.cardId);
    if (card && card.currentRunId === runId) await setCard(ctx, card, { status: "error", note: result.error.slice(0, 500) }, meta);
    return null;
  },
});
