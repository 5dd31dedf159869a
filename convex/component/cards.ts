import { v } from "convex/values";
import { mutation, query } from "./_generated/server.js";
import { fail } from "../shared/errors.js";
import { MAX_LIST_LIMIT } from "../shared/defaults.js";
import { vContext } from "../shared/validators.js";
import { boardStages, load } from "../model/load.js";
import { isActive, setCard } from "../model/machine.js";
import { checkName, checkText, listLimit } from "../model/validate.js";
import { publicCard, vPublicCard } from "../model/public.js";
import { workflow } from "../model/workflowManager.js";

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
    const entries = Object.entries(args.context ?? {});
    if (entries.length > 100) fail("invalid_argument", `context has ${entries.length} variables; the limit is 100`);
    for (const [k, val] of entries) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k)) fail("invalid_argument", `context variable name "${k}" must be an identifier (letters, digits, _)`);
      checkText(`context.${k}`, val, 10_000);
    }
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
      if (run?.workflowId && card.status === "awaiting_review") await workflow.cancel(ctx, run.workflowId as never);
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

/** Cards of a board, optionally of one stage; bounded by `limit` (default 100, max 200). */
export const listCards = query({
  args: { boardId: v.string(), stageId: v.optional(v.string()), limit: v.optional(v.number()) },
  returns: v.array(vPublicCard),
  handler: async (ctx, args) => {
    const board = await load(ctx, "boards", args.boardId);
    const limit = listLimit(args.limit, 100, MAX_LIST_LIMIT);
    const stage = args.stageId === undefined ? undefined : await load(ctx, "stages", args.stageId);
    if (stage && stage.boardId !== board._id) {
      fail("invalid_argument", `stageId: stage ${stage._id} ("${stage.name}") belongs to board ${stage.boardId}, not to board ${board._id}; pass a stage of this board or leave stageId out`);
    }
    const stageId = stage?._id;
    const cards = await ctx.db
      .query("cards")
      .withIndex("by_board_stage", (q) => (stageId ? q.eq("boardId", board._id).eq("stageId", stageId) : q.eq("boardId", board._id)))
      .take(limit);
    return cards.map(publicCard);
  },
});
