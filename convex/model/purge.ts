/**
 * Removal of a deleted card's (or board's) data in bounded, resumable steps. Each step is one
 * transaction that deletes at most DELETE_BATCH documents and says what to do next: `more` (schedule
 * the next step now), `wait` (a sandbox kill or a workflow cancel is still in flight: look again after
 * DELETE_WAIT_MS) or `done`. A step only ever reads what is left, so a step that was interrupted (or
 * ran twice) simply resumes: the `deletingAt` marker on the card or board is the whole state.
 *
 * Order per run: cancel it if live (the one cancel path, runs.ts `cancel`), wait until its sandbox
 * session is `ended` (the kill action needs the session row, so it is deleted last), clean up its
 * workflow journal, then delete events, inbox, artifacts with their stored bytes, settings, turns,
 * transitions and sessions, and the run. Then the card's own rows, its agent thread, and the card.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import { components, internal } from "../component/_generated/api.js";
import { cancel } from "../component/runs.js";
import { DELETE_BATCH } from "../shared/defaults.js";
import { isTerminal } from "./machine.js";
import { requestKill } from "./sessions.js";
import { workflow } from "./workflowManager.js";

export type PurgeStep = "more" | "wait" | "done";

/** Documents a step may still delete. */
class Budget {
  constructor(public left = DELETE_BATCH) {}
  get spent() {
    return this.left <= 0;
  }
}

/** Deletes the rows `rows(n)` returns, at most the budget's worth; true when none are left. */
async function drain<T extends { _id: Id<any> }>(
  ctx: MutationCtx,
  budget: Budget,
  rows: (n: number) => Promise<T[]>,
  before?: (row: T) => Promise<void>,
): Promise<boolean> {
  if (budget.spent) return false;
  const allowed = budget.left;
  // One more than may be deleted: whether anything is left is known without another read.
  const page = await rows(allowed + 1);
  for (const row of page.slice(0, allowed)) {
    if (before) await before(row);
    await ctx.db.delete(row._id);
    budget.left--;
  }
  return page.length <= allowed;
}

/** Deletes an artifact's stored bytes with it (a blob already gone is not an error). */
async function deleteBlob(ctx: MutationCtx, artifact: Doc<"artifacts">): Promise<void> {
  if (await ctx.db.system.get(artifact.storageId)) await ctx.storage.delete(artifact.storageId);
}

/** Marks a card deleted: cancels its live run (kill, revoke, workflow woken) and schedules the purge. */
export async function markCardDeleting(ctx: MutationCtx, card: Doc<"cards">, reason: string): Promise<boolean> {
  if (card.deletingAt !== undefined) return false;
  if (card.currentRunId) {
    const run = await ctx.db.get(card.currentRunId);
    if (run) await cancel(ctx, run, reason);
  }
  await ctx.db.patch(card._id, { deletingAt: Date.now() });
  await ctx.scheduler.runAfter(0, internal.lifecycle.purgeCard, { cardId: card._id });
  return true;
}

/** One bounded step of a card's removal. */
export async function purgeCardStep(ctx: MutationCtx, cardId: Id<"cards">): Promise<PurgeStep> {
  const card = await ctx.db.get(cardId);
  if (!card) return "done";
  const budget = new Budget();
  for (let runs = 0; ; runs++) {
    const run = await ctx.db.query("runs").withIndex("by_card", (q) => q.eq("cardId", cardId)).first();
    if (!run) break;
    // Each run also costs a workflow cleanup (a call into the workflow component): few per step.
    if (runs === RUNS_PER_STEP) return "more";
    const step = await purgeRun(ctx, run, budget);
    if (step !== "done") return step;
    if (budget.spent) return "more";
  }
  const byCard = { transitions: "transitions", turns: "turns", artifacts: "artifacts" } as const;
  for (const table of Object.values(byCard)) {
    const done = await drain(
      ctx,
      budget,
      (n) => ctx.db.query(table).withIndex("by_card", (q) => q.eq("cardId", cardId)).take(n),
      table === "artifacts" ? (a) => deleteBlob(ctx, a as Doc<"artifacts">) : undefined,
    );
    if (!done) return "more";
  }
  // The plan's tasks (the plan KSA's rows) go with the card.
  if (!(await drain(ctx, budget, (n) => ctx.db.query("planTasks").withIndex("by_card_seq", (q) => q.eq("cardId", cardId)).take(n)))) return "more";
  if (card.threadId) {
    const threadId = card.threadId;
    // The agent component deletes the thread's messages and streams in its own scheduled batches.
    const thread = await ctx.runQuery(components.agent.threads.getThread, { threadId });
    if (thread) await ctx.runMutation(components.agent.threads.deleteAllForThreadIdAsync, { threadId });
  }
  await ctx.db.delete(cardId);
  return "done";
}

async function purgeRun(ctx: MutationCtx, run: Doc<"runs">, budget: Budget): Promise<PurgeStep> {
  if (!isTerminal(run.status)) await cancel(ctx, run, "card deleted");
  // The kill action reads the session row, and a kill the provider never confirmed is retried by the
  // reaper from it: the row stays until the sandbox is known dead.
  const sessions = await ctx.db.query("sessions").withIndex("by_run", (q) => q.eq("runId", run._id)).take(10);
  let waiting = false;
  for (const s of sessions) {
    if (s.state === "ended") continue;
    await requestKill(ctx, s, "card deleted");
    waiting = true;
  }
  if (waiting) return "wait";
  if (run.workflowId && !(await journalGone(ctx, run))) return "wait";
  const id = run._id;
  const drained =
    (await drain(ctx, budget, (n) => ctx.db.query("events").withIndex("by_run_seq", (q) => q.eq("runId", id)).take(n))) &&
    (await drain(ctx, budget, (n) => ctx.db.query("inbox").withIndex("by_run_seq", (q) => q.eq("runId", id)).take(n))) &&
    (await drain(ctx, budget, (n) => ctx.db.query("artifacts").withIndex("by_run_name", (q) => q.eq("runId", id)).take(n), (a) => deleteBlob(ctx, a))) &&
    (await drain(ctx, budget, (n) => ctx.db.query("runSettings").withIndex("by_run", (q) => q.eq("runId", id)).take(n))) &&
    (await drain(ctx, budget, (n) => ctx.db.query("turns").withIndex("by_run_step", (q) => q.eq("runId", id)).take(n))) &&
    (await drain(ctx, budget, (n) => ctx.db.query("transitions").withIndex("by_run", (q) => q.eq("runId", id)).take(n))) &&
    (await drain(ctx, budget, (n) => ctx.db.query("sessions").withIndex("by_run", (q) => q.eq("runId", id)).take(n)));
  if (!drained || budget.spent) return "more";
  await ctx.db.delete(id);
  budget.left--;
  return "done";
}

/** A workflow still running this long after its run ended is stuck: it is canceled instead of awaited. */
const STUCK_WORKFLOW_MS = 10 * 60_000;

/**
 * Cleans up the run's workflow journal; true once it is gone. A workflow still in progress (a run
 * settling as it was deleted: the cancel woke it, model/workflowWake.ts) is looked at again on the next
 * step; one still running STUCK_WORKFLOW_MS after its run ended is canceled.
 */
async function journalGone(ctx: MutationCtx, run: Doc<"runs">): Promise<boolean> {
  const workflowId = run.workflowId!;
  if (await workflow.cleanup(ctx, workflowId as never)) return true;
  let status;
  try {
    status = await workflow.status(ctx, workflowId as never);
  } catch {
    return true; // Already cleaned up (e.g. by the delayed cleanup after it completed).
  }
  const stuck = Date.now() - (run.endedAt ?? run.queuedAt) > STUCK_WORKFLOW_MS;
  if (status.type === "inProgress" && stuck) await workflow.cancel(ctx, workflowId as never);
  return false;
}

/**
 * One bounded step of a board's removal: marks (and so cancels and purges) up to BOARD_CARD_BATCH of
 * its cards at a time, waits until every card is gone, then deletes its stages and the board.
 */
export async function purgeBoardStep(ctx: MutationCtx, boardId: Id<"boards">): Promise<PurgeStep> {
  const board = await ctx.db.get(boardId);
  if (!board) return "done";
  const cards = await ctx.db.query("cards").withIndex("by_board_stage", (q) => q.eq("boardId", boardId)).take(BOARD_CARD_BATCH);
  if (cards.length > 0) {
    let marked = 0;
    for (const card of cards) if (await markCardDeleting(ctx, card, "board deleted")) marked++;
    return marked > 0 ? "more" : "wait";
  }
  const stages = await ctx.db.query("stages").withIndex("by_board_position", (q) => q.eq("boardId", boardId)).take(DELETE_BATCH);
  for (const s of stages) await ctx.db.delete(s._id);
  if (stages.length === DELETE_BATCH) return "more";
  await ctx.db.delete(boardId);
  return "done";
}

/** Runs a card step removes at most (each with its journal cleanup and about ten index reads). */
export const RUNS_PER_STEP = 20;

/** Cards a board step marks at once: each cancel costs a few writes and schedules a purge and a kill. */
export const BOARD_CARD_BATCH = 25;
