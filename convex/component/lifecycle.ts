/**
 * The data lifecycle: edit, archive and delete cards; reorder and remove stages; delete boards; clean
 * up finished workflow journals; retention. Deletes cancel live runs first (kill, revoke, workflow
 * cancel through runs.ts `cancel`), then remove everything in bounded scheduled steps
 * (model/purge.ts). Renaming a stage is `boards.updateStage({ patch: { name } })`.
 */
import { v } from "convex/values";
import { vWorkflowId } from "@convex-dev/workflow";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import { mutation } from "../model/functions.js";
import { internal } from "./_generated/api.js";
import type { Doc } from "./_generated/dataModel.js";
import { fail } from "../shared/errors.js";
import { DELETE_WAIT_MS } from "../shared/defaults.js";
import { vContext } from "../shared/validators.js";
import { boardStages, load } from "../model/load.js";
import { isActive } from "../model/machine.js";
import { checkName, checkText } from "../model/validate.js";
import { checkContext } from "../model/cardInput.js";
import { publicCard, publicStage, vPublicCard, vPublicStage } from "../model/public.js";
import { markCardDeleting, purgeBoardStep, purgeCardStep, type PurgeStep } from "../model/purge.js";
import { retentionStep } from "../model/retention.js";
import { workflow } from "../model/workflowManager.js";

function notDeleting(card: Doc<"cards">): void {
  if (card.deletingAt !== undefined) fail("conflict", `card ${card._id} is being deleted`);
}

async function hasLiveRun(ctx: MutationCtx, card: Doc<"cards">): Promise<boolean> {
  if (card.status === "awaiting_review") return true;
  const run = card.currentRunId ? await ctx.db.get(card.currentRunId) : null;
  return run !== null && isActive(run.status);
}

/**
 * Changes a card's title, description or context; only the given fields change (`null` clears
 * description or context). Context is capped at 64 KiB of UTF-8 JSON; a run already started keeps
 * what it was given.
 */
export const updateCard = mutation({
  args: {
    cardId: v.string(),
    title: v.optional(v.string()),
    description: v.optional(v.union(v.string(), v.null())),
    context: v.optional(v.union(vContext, v.null())),
  },
  returns: vPublicCard,
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    notDeleting(card);
    const patch: Partial<Doc<"cards">> = {};
    if (args.title !== undefined) patch.title = checkName("title", args.title);
    if (args.description !== undefined) {
      checkText("description", args.description ?? undefined);
      patch.description = args.description ?? undefined;
    }
    if (args.context !== undefined) {
      checkContext("context", args.context ?? undefined);
      patch.context = args.context ?? undefined;
    }
    await ctx.db.patch(card._id, patch);
    return publicCard((await ctx.db.get(card._id))!);
  },
});

/** Hides a card from lists (they take `includeArchived`) until `restoreCard`. Refused while it runs or waits for review. */
export const archiveCard = mutation({
  args: { cardId: v.string() },
  returns: vPublicCard,
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    notDeleting(card);
    if (await hasLiveRun(ctx, card)) fail("conflict", `card ${card._id} is ${card.status}; stop it (stopCard) before archiving it`);
    if (card.archivedAt === undefined) await ctx.db.patch(card._id, { archivedAt: Date.now() });
    return publicCard((await ctx.db.get(card._id))!);
  },
});

/** Brings an archived card back into lists, where it was. */
export const restoreCard = mutation({
  args: { cardId: v.string() },
  returns: vPublicCard,
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    notDeleting(card);
    await ctx.db.patch(card._id, { archivedAt: undefined });
    return publicCard((await ctx.db.get(card._id))!);
  },
});

/**
 * Deletes a card and everything it produced. A live run is canceled first (sandbox killed, token
 * revoked, workflow canceled); events, artifacts and their bytes, transitions, inbox, turns, the agent
 * thread and the workflow journals are then removed in scheduled batches. Idempotent: a second call
 * while the deletion runs returns `started: false`.
 */
export const deleteCard = mutation({
  args: { cardId: v.string(), reason: v.optional(v.string()) },
  returns: v.object({ started: v.boolean() }),
  handler: async (ctx, args) => {
    checkText("reason", args.reason, 500);
    const card = await load(ctx, "cards", args.cardId);
    return { started: await markCardDeleting(ctx, card, args.reason ?? "card deleted") };
  },
});

/** Deletes a board: every card as `deleteCard` does (a batch at a time), then its stages and the board. */
export const deleteBoard = mutation({
  args: { boardId: v.string() },
  returns: v.object({ started: v.boolean() }),
  handler: async (ctx, args) => {
    const board = await load(ctx, "boards", args.boardId);
    if (board.deletingAt !== undefined) return { started: false };
    await ctx.db.patch(board._id, { deletingAt: Date.now() });
    await ctx.scheduler.runAfter(0, internal.lifecycle.purgeBoard, { boardId: board._id });
    return { started: true };
  },
});

/**
 * Removes a stage. Refused while any card (archived ones included) is on it: move those cards
 * (`moveCard`) or delete them first, so no card is moved somewhere its owner did not choose. The last
 * stage of a board cannot be removed. Later stages move up one position.
 */
export const removeStage = mutation({
  args: { stageId: v.string() },
  returns: v.null(),
  handler: async (ctx, args) => {
    const stage = await load(ctx, "stages", args.stageId);
    const stages = await boardStages(ctx, stage.boardId);
    if (stages.length === 1) fail("conflict", `stage "${stage.name}" is the only stage of board ${stage.boardId}; delete the board instead`);
    const card = await ctx.db.query("cards").withIndex("by_stage_status", (q) => q.eq("stageId", stage._id)).first();
    if (card) {
      fail("conflict", `stage "${stage.name}" still has cards (e.g. ${card._id}, ${card.status}${card.archivedAt ? ", archived" : ""}); move them to another stage (moveCard) or delete them, then remove the stage`);
    }
    await ctx.db.delete(stage._id);
    for (const s of stages) if (s.position > stage.position) await ctx.db.patch(s._id, { position: s.position - 1 });
    return null;
  },
});

/** Puts a board's stages in the given order; `stageIds` must list every stage of the board exactly once. */
export const reorderStages = mutation({
  args: { boardId: v.string(), stageIds: v.array(v.string()) },
  returns: v.array(vPublicStage),
  handler: async (ctx, args) => {
    const board = await load(ctx, "boards", args.boardId);
    const stages = await boardStages(ctx, board._id);
    const byId = new Map(stages.map((s) => [s._id as string, s]));
    const given = new Set(args.stageIds);
    const missing = stages.filter((s) => !given.has(s._id)).map((s) => `"${s.name}" (${s._id})`);
    const unknown = args.stageIds.filter((id) => !byId.has(id));
    if (given.size !== args.stageIds.length || missing.length || unknown.length) {
      fail(
        "invalid_argument",
        `stageIds must list each of the board's ${stages.length} stages exactly once` +
          (unknown.length ? `; not stages of board ${board._id}: ${unknown.join(", ")}` : "") +
          (missing.length ? `; missing: ${missing.join(", ")}` : "") +
          (given.size !== args.stageIds.length ? "; some ids appear twice" : ""),
      );
    }
    for (const [position, id] of args.stageIds.entries()) {
      const s = byId.get(id)!;
      if (s.position !== position) await ctx.db.patch(s._id, { position });
    }
    return (await boardStages(ctx, board._id)).map(publicStage);
  },
});

/** Schedules the next step of a purge according to what the last one said. */
async function next(ctx: MutationCtx, step: PurgeStep, schedule: (delayMs: number) => Promise<unknown>): Promise<PurgeStep> {
  if (step === "more") await schedule(0);
  if (step === "wait") await schedule(DELETE_WAIT_MS);
  return step;
}

const vStep = v.union(v.literal("more"), v.literal("wait"), v.literal("done"));

export const purgeCard = internalMutation({
  args: { cardId: v.id("cards") },
  returns: vStep,
  handler: async (ctx, { cardId }): Promise<PurgeStep> =>
    await next(ctx, await purgeCardStep(ctx, cardId), (ms) => ctx.scheduler.runAfter(ms, internal.lifecycle.purgeCard, { cardId })),
});

export const purgeBoard = internalMutation({
  args: { boardId: v.id("boards") },
  returns: vStep,
  handler: async (ctx, { boardId }): Promise<PurgeStep> =>
    await next(ctx, await purgeBoardStep(ctx, boardId), (ms) => ctx.scheduler.runAfter(ms, internal.lifecycle.purgeBoard, { boardId })),
});

/** Scheduled by the workflow's onComplete (WORKFLOW_CLEANUP_DELAY_MS later): deletes the finished journal. */
export const cleanupWorkflow = internalMutation({
  args: { workflowId: vWorkflowId },
  returns: v.boolean(),
  handler: async (ctx, { workflowId }): Promise<boolean> => await workflow.cleanup(ctx, workflowId),
});

/** The retention cron: one bounded step, continued at once while a step finds a full batch. */
export const applyRetention = internalMutation({
  args: {},
  returns: v.object({ events: v.number(), artifacts: v.number(), more: v.boolean() }),
  handler: async (ctx): Promise<{ events: number; artifacts: number; more: boolean }> => {
    const r = await retentionStep(ctx, Date.now());
    if (r.more) await ctx.scheduler.runAfter(0, internal.lifecycle.applyRetention, {});
    return r;
  },
});
