import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import schema from "./schema.js";
import { mapPage, pageOptions, vPage } from "../model/pages.js";
import { cardSummary, vCardSummary } from "../model/summaries.js";
import { mutation, query } from "../model/functions.js";
import { fail } from "../shared/errors.js";
import { MAX_LIST_LIMIT } from "../shared/defaults.js";
import { vContext, vPlanTask } from "../shared/validators.js";
import { boardStages, load } from "../model/load.js";
import { isActive, setCard } from "../model/machine.js";
import { checkName, checkText } from "../model/validate.js";
import { checkContext } from "../model/cardInput.js";
import { publicCard, vPublicCard } from "../model/public.js";
import { releaseReviewWait } from "../model/workflowWake.js";
import { planOf } from "../model/plan.js";

/** Adds a card to a board, in its first stage unless `stageId` is given. */
export const addCard = mutation({
  args: {
    boardId: v.string(),
    title: v.string(),
    description: v.optional(v.string()),
    context: v.optional(vContext),
    stageId: v.optional(v.string()),
  },
  returns: v.string(),
  handler: async (ctx, args) => {
    const board = await load(ctx, "boards", args.boardId);
    const title = checkName("title", args.title);
    checkText("description", args.description);
    checkContext("context", args.context);
    if (board.deletingAt !== undefined) fail("conflict", `board ${board._id} is being deleted; no cards can be added to it`);
    const stages = await boardStages(ctx, board._id);
    const stage = args.stageId ? await load(ctx, "stages", args.stageId) : stages[0];
    if (!stage || stage.boardId !== board._id) fail("invalid_argument", `stage ${args.stageId} is not on board ${board._id}`);
    return await ctx.db.insert("cards", {
      boardId: board._id,
      stageId: stage._id,
      title,
      description: args.description,
      context: args.context,
      status: stage.kind === "done" ? "done" : "idle",
      generation: 0,
    });
  },
});

/** Moves a card to another stage of its board by hand. Refused while the card has an active run. */
export const moveCard = mutation({
  args: { cardId: v.string(), stageId: v.string(), reason: v.optional(v.string()) },
  returns: vPublicCard,
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    const stage = await load(ctx, "stages", args.stageId);
    if (stage.boardId !== card.boardId) fail("invalid_argument", `stage ${stage._id} is on another board than card ${card._id}`);
    if (card.currentRunId) {
      const run = await ctx.db.get(card.currentRunId);
      if (run && isActive(run.status)) fail("conflict", `card ${card._id} has an active run ${run._id} (${run.status}); stop it before moving the card`);
      // Moving a card that waits for review ends that wait: its workflow has nothing left to do.
      if (run && card.status === "awaiting_review") await releaseReviewWait(ctx, run);
    }
    await setCard(ctx, card, { status: stage.kind === "done" ? "done" : "idle", stageId: stage._id, currentRunId: null }, {
      source: "client",
      reason: args.reason ?? `moved to "${stage.name}"`,
    });
    return publicCard((await ctx.db.get(card._id))!);
  },
});

export const getCard = query({
  args: { cardId: v.string() },
  returns: v.union(v.null(), vPublicCard),
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("cards", args.cardId);
    const card = id && (await ctx.db.get(id));
    return card ? publicCard(card) : null;
  },
});

/** The card's plan (the agent's task list, kept across its runs), in order of creation; [] for an unknown card. */
export const getPlan = query({
  args: { cardId: v.string() },
  returns: v.array(vPlanTask),
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("cards", args.cardId);
    return id && (await ctx.db.get(id)) ? await planOf(ctx, id) : [];
  },
});

/**
 * Cards of a board (by stage, then oldest first), or of one stage of it, as a Convex page of
 * summaries: no context, description and note cut to 500 characters (`getCard` has the whole card).
 * `paginationOpts.numItems` is 1–200; a page also stops early past 4 MiB read (see model/pages.ts).
 */
export const listCards = query({
  args: {
    boardId: v.string(),
    stageId: v.optional(v.string()),
    /** Archived cards are left out unless this is true. */
    includeArchived: v.optional(v.boolean()),
    paginationOpts: paginationOptsValidator,
  },
  returns: vPage(vCardSummary),
  handler: async (ctx, args) => {
    const board = await load(ctx, "boards", args.boardId);
    const stage = args.stageId === undefined ? undefined : await load(ctx, "stages", args.stageId);
    if (stage && stage.boardId !== board._id) {
      fail("invalid_argument", `stageId: stage ${stage._id} ("${stage.name}") belongs to board ${stage.boardId}, not to board ${board._id}; pass a stage of this board or leave stageId out`);
    }
    const stageId = stage?._id;
    const cards = paginator(ctx.db, schema).query("cards");
    const page = await (
      args.includeArchived
        ? cards.withIndex("by_board_stage", (q) => (stageId ? q.eq("boardId", board._id).eq("stageId", stageId) : q.eq("boardId", board._id)))
        : cards.withIndex("by_board_archived_stage", (q) => {
            const live = q.eq("boardId", board._id).eq("archivedAt", undefined);
            return stageId ? live.eq("stageId", stageId) : live;
          })
    ).paginate(pageOptions(args.paginationOpts, MAX_LIST_LIMIT));
    return mapPage(page, cardSummary);
  },
});
