/**
 * Starting, ending and settling runs: the logic shared by the client-facing functions, the workflow
 * steps, the runtime callbacks, the watchdog and the reaper.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import { internal } from "../component/_generated/api.js";
import { fail } from "../shared/errors.js";
import type { Completion, RetryContext, TransitionSource } from "../shared/validators.js";
import { getConfig, stageLimits } from "./config.js";
import { isActive, setCard, transitionRun } from "./machine.js";
import { requestKill, sessionOfRun } from "./sessions.js";
import { recordSettings } from "./settings.js";
import { currentArtifacts } from "./artifactVersions.js";
import { AGENT_DONE, workflow } from "./workflowManager.js";

export type StartRunArgs = {
  card: Doc<"cards">;
  stage: Doc<"stages">;
  attempt: number;
  retriesLeft: number;
  retryContext?: RetryContext;
  providerHandle: string;
  callbackUrl: string;
  source: TransitionSource;
  reason: string;
  /** resumeCard: limits raised over the stage's, and the paused run whose files the sandbox starts with. */
  raised?: Doc<"runs">["raised"];
  resumedFrom?: Id<"runs">;
};

/**
 * Creates a run and starts its workflow. Idempotent on (card, stage, attempt): a second call returns
 * the run already created. Refuses when the card has another active run.
 */
export async function startRun(ctx: MutationCtx, a: StartRunArgs): Promise<{ runId: Id<"runs">; workflowId: string; created: boolean }> {
  const existing = await ctx.db
    .query("runs")
    .withIndex("by_card_stage_attempt", (q) => q.eq("cardId", a.card._id).eq("stageId", a.stage._id).eq("attempt", a.attempt))
    .unique();
  if (existing) return { runId: existing._id, workflowId: existing.workflowId!, created: false };
  if (a.card.deletingAt !== undefined) fail("conflict", `card ${a.card._id} is being deleted; it cannot run`);
  if (a.card.archivedAt !== undefined) fail("conflict", `card ${a.card._id} is archived; restore it (restoreCard) before running it`);
  if (a.stage.kind !== "agent") {
    fail("invalid_argument", `stage "${a.stage.name}" is a ${a.stage.kind} stage; only agent stages run. Move the card instead.`);
  }
  // Only the app is refused: the workflow itself starts the retry after a rejection from this state.
  if (a.source === "client" && a.card.status === "awaiting_review") {
    fail("conflict", `card ${a.card._id} is waiting for review of run ${a.card.currentRunId}; review it or stop the card first`);
  }
  if (a.card.currentRunId) {
    const current = await ctx.db.get(a.card.currentRunId);
    if (current && isActive(current.status)) {
      fail("conflict", `card ${a.card._id} already has an active run ${current._id} (${current.status}); cancel it first`);
    }
  }
  const config = await getConfig(ctx);
  const limits = stageLimits(a.stage, config);
  if (limits.wipLimit !== undefined) {
    const busy =
      (await ctx.db.query("cards").withIndex("by_stage_status", (q) => q.eq("stageId", a.stage._id).eq("status", "running")).take(limits.wipLimit)).length +
      (await ctx.db.query("cards").withIndex("by_stage_status", (q) => q.eq("stageId", a.stage._id).eq("status", "queued")).take(limits.wipLimit)).length;
    if (busy >= limits.wipLimit) {
      fail("conflict", `stage "${a.stage.name}" is at its WIP limit (${limits.wipLimit} cards running); wait or raise limits.wipLimit`);
    }
  }
  const generation = a.card.generation + 1;
  const runId = await ctx.db.insert("runs", {
    cardId: a.card._id,
    boardId: a.card.boardId,
    stageId: a.stage._id,
    attempt: a.attempt,
    generation,
    status: "queued",
    providerHandle: a.providerHandle,
    callbackUrl: a.callbackUrl,
    queuedAt: Date.now(),
    retryContext: a.retryContext,
    retriesLeft: a.retriesLeft,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, steps: 0 },
    ...(a.raised ? { raised: a.raised } : {}),
    ...(a.resumedFrom ? { resumedFrom: a.resumedFrom } : {}),
    template: config.template,
    templateVersion: config.templateVersion,
  });
  // The run keeps these settings whatever updateStage does while it is in progress.
  const settingsId = await recordSettings(ctx, runId, a.stage);
  await ctx.db.insert("transitions", {
    entity: "run",
    cardId: a.card._id,
    runId,
    from: "none",
    to: "queued",
    source: a.source,
    reason: a.reason,
  });
  await ctx.db.patch(a.card._id, { generation });
  await setCard(ctx, { ...a.card, generation }, { status: "queued", currentRunId: runId, currentAttempt: a.attempt }, { source: a.source, reason: a.reason });
  const workflowId: string = await workflow.start(
    ctx,
    internal.workflow.cardRun,
    { runId },
    { onComplete: internal.workflow.onComplete, context: runId },
  );
  await ctx.db.patch(runId, { workflowId, settingsId });
  return { runId, workflowId, created: true };
}

export type AgentOutcome =
  | { to: "collecting"; completion?: Completion }
  | { to: "failed"; code: string; message: string; completion?: Completion }
  | { to: "timed_out"; code: string; message: string };

/**
 * Ends the agent phase of a run (provisioning or running) and wakes its workflow. First writer wins:
 * returns false, changing nothing, if the run already left that phase.
 */
export async function endAgentPhase(
  ctx: MutationCtx,
  run: Doc<"runs">,
  outcome: AgentOutcome,
  source: TransitionSource,
): Promise<boolean> {
  if (run.status !== "provisioning" && run.status !== "running") return false;
  const reason =
    outcome.to !== "collecting" ? `${outcome.code}: ${outcome.message}` : run.budget ? `budget reached (${run.budget.limit}): ${run.budget.message}` : "agent completed";
  if (outcome.to === "collecting" && run.status === "provisioning") {
    // The runtime can finish before the provision step recorded the sandbox.
    await transitionRun(ctx, run._id, "running", { source, reason: "runtime reported before start was recorded" });
  }
  const patch: Partial<Doc<"runs">> = { agentDoneSent: true };
  if (outcome.to !== "timed_out" && outcome.completion) patch.completion = outcome.completion;
  if (outcome.to !== "collecting") patch.error = { code: outcome.code, message: outcome.message };
  await transitionRun(ctx, run._id, outcome.to, { source, reason }, patch);
  if (outcome.to !== "collecting") {
    const session = await sessionOfRun(ctx, run);
    if (session) await requestKill(ctx, session, outcome.code);
  }
  if (run.workflowId) {
    await workflow.sendEvent(ctx, { workflowId: run.workflowId as never, name: AGENT_DONE, value: { status: outcome.to } });
  }
  return true;
}

/** The retry context the next attempt receives. */
export function retryContextOf(run: Doc<"runs">, produced: string[]): RetryContext {
  const qa = run.qa;
  const problem = run.review?.state === "rejected"
    ? "a reviewer rejected the deliverables"
    : qa && !qa.ok
      ? `deliverable checks failed: ${qa.summary}`
      : (run.error?.message ?? `run ended as ${run.status}`);
  return {
    previousRunId: run._id,
    attempt: run.attempt,
    problem,
    missing: qa?.missing ?? [],
    failed: qa?.failed ?? [],
    produced: qa?.produced ?? produced,
    reviewerNotes: run.review?.notes ?? [],
  };
}

/** Names of the current (non-superseded) artifacts of a run, bounded. */
export async function producedNames(ctx: MutationCtx, runId: Id<"runs">): Promise<string[]> {
  const arts = await currentArtifacts(ctx, runId);
  return [...new Set(arts.map((a) => a.name))].sort();
}

/** After a failed attempt: start the next one with the retry context, or block the card. */
export async function retryOrBlock(ctx: MutationCtx, run: Doc<"runs">, card: Doc<"cards">, stage: Doc<"stages">) {
  if (run.budget && run.status === "failed") {
    // A budget reached is not a failed attempt: the card waits for someone to resume it.
    const note = `budget reached (${run.budget.limit}): ${run.budget.message}; resume the card to continue`;
    await setCard(ctx, card, { status: "paused", note: note.slice(0, 1_000) }, { source: "workflow", reason: `paused after attempt ${run.attempt}: ${run.budget.limit} reached` });
    return;
  }
  const context = retryContextOf(run, await producedNames(ctx, run._id));
  if (run.retriesLeft > 0) {
    await startRun(ctx, {
      card,
      stage,
      attempt: run.attempt + 1,
      retriesLeft: run.retriesLeft - 1,
      retryContext: context,
      providerHandle: run.providerHandle,
      callbackUrl: run.callbackUrl,
      source: "workflow",
      reason: `retry after attempt ${run.attempt}: ${context.problem}`,
    });
  } else {
    await setCard(ctx, card, { status: "blocked", note: context.problem }, {
      source: "workflow",
      reason: `blocked after ${run.attempt} attempt(s): ${context.problem}`,
    });
  }
}

/** After a successful attempt: move the card to the next stage, and run it there if that stage auto-runs. */
export async function advance(ctx: MutationCtx, run: Doc<"runs">, card: Doc<"cards">, stage: Doc<"stages">) {
  const next = await ctx.db
    .query("stages")
    .withIndex("by_board_position", (q) => q.eq("boardId", stage.boardId).gt("position", stage.position))
    .first();
  const meta = { source: "workflow" as const, reason: `attempt ${run.attempt} in "${stage.name}" succeeded` };
  if (!next || next.kind === "done") {
    await setCard(ctx, card, { status: "done", stageId: next?._id, note: run.qa?.summary }, meta);
    return;
  }
  await setCard(ctx, card, { status: "idle", stageId: next._id, note: run.qa?.summary }, meta);
  if (next.kind === "agent" && next.autoAdvance) {
    const config = await getConfig(ctx);
    const moved = (await ctx.db.get(card._id))!;
    await startRun(ctx, {
      card: moved,
      stage: next,
      attempt: await nextAttempt(ctx, moved._id, next._id),
      retriesLeft: stageLimits(next, config).maxAttempts - 1,
      providerHandle: run.providerHandle,
      callbackUrl: run.callbackUrl,
      source: "workflow",
      reason: `auto-run: "${next.name}" has autoAdvance`,
    });
  }
}

/** Attempts are numbered per (card, stage) across manual re-runs. */
export async function nextAttempt(ctx: MutationCtx, cardId: Id<"cards">, stageId: Id<"stages">): Promise<number> {
  const last = await ctx.db
    .query("runs")
    .withIndex("by_card_stage_attempt", (q) => q.eq("cardId", cardId).eq("stageId", stageId))
    .order("desc")
    .first();
  return (last?.attempt ?? 0) + 1;
}
