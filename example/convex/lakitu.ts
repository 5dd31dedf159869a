/**
 * The app's functions for a kanban UI: a demo board, the "run" button, stop, review, a board view and
 * its lists (each a page, for `usePaginatedQuery`). The rest of what the board UI (`LakituDashboard`
 * from `lakitu/react`) calls is in lakituBoard.ts; example/ui/src/functions.ts maps both to it.
 * Each function starts with an auth check you must fill in for your app.
 */
import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { Lakitu } from "lakitu";
import { components, internal } from "./_generated/api";
import { mutation, query, type QueryCtx } from "./_generated/server";

// Annotated on purpose: this module is part of `internal`, so TypeScript 5 cannot infer a type that
// depends on itself (TS7022).
export const lakitu: Lakitu = new Lakitu(components.lakitu, { provider: internal.sandbox.provider });

/** ⚠️ AUTH CHECK: replace with your app's rule (e.g. the user owns the board). */
export async function requireUser(ctx: QueryCtx): Promise<string> {
  const identity = await ctx.auth.getUserIdentity();
  return identity?.subject ?? "anonymous";
}

export const createDemoBoard = mutation({
  args: {},
  handler: async (ctx): Promise<string> => {
    const owner = await requireUser(ctx);
    const { boardId } = await lakitu.createBoard(ctx, {
      name: "Research pipeline",
      owner,
      stages: [
        {
          name: "Research",
          kind: "agent",
          goals: ["Collect facts about the card's topic"],
          deliverables: [{ name: "notes.md", type: "markdown", checks: { minWords: 5 } }],
          autoAdvance: true,
        },
        {
          name: "Draft",
          kind: "agent",
          goals: ["Write the article from the notes"],
          deliverables: [
            { name: "article.md", type: "markdown", checks: { minWords: 5 } },
            { name: "sources.json", type: "json", checks: { jsonSchema: JSON.stringify({ type: "array", items: { type: "string" } }) } },
          ],
          autoAdvance: true,
        },
        { name: "Done", kind: "done" },
      ],
    });
    return boardId;
  },
});

export const addCard = mutation({
  args: { boardId: v.string(), title: v.string(), description: v.optional(v.string()), stageId: v.optional(v.string()) },
  handler: async (ctx, args): Promise<string> => {
    await requireUser(ctx);
    return await lakitu.addCard(ctx, args);
  },
});

/** The "run" button. */
export const run = mutation({
  args: { cardId: v.string() },
  handler: async (ctx, { cardId }): Promise<{ runId: string }> => {
    await requireUser(ctx);
    const { runId } = await lakitu.runCard(ctx, { cardId });
    return { runId };
  },
});

export const stop = mutation({
  args: { cardId: v.string(), reason: v.optional(v.string()) },
  handler: async (ctx, { cardId, reason }): Promise<boolean> => {
    await requireUser(ctx);
    return (await lakitu.stopCard(ctx, { cardId, reason })).stopped;
  },
});

/** The "resume" button of a card paused by its budget. */
export const resume = mutation({
  args: { cardId: v.string(), maxSteps: v.optional(v.number()) },
  handler: async (ctx, { cardId, maxSteps }): Promise<{ runId: string }> => {
    await requireUser(ctx);
    const { runId } = await lakitu.resumeCard(ctx, { cardId, raise: maxSteps ? { maxSteps } : undefined });
    return { runId };
  },
});

/** A budget-limited board: one agent stage allowed `maxSteps` model turns. */
export const createBudgetBoard = mutation({
  args: { maxSteps: v.number() },
  handler: async (ctx, { maxSteps }): Promise<string> => {
    const owner = await requireUser(ctx);
    const { boardId } = await lakitu.createBoard(ctx, {
      name: "Budgeted",
      owner,
      stages: [
        { name: "Write", kind: "agent", deliverables: [{ name: "notes.md", type: "markdown", checks: { minWords: 5 } }], limits: { maxSteps } },
        { name: "Done", kind: "done" },
      ],
    });
    return boardId;
  },
});

export const usage = query({
  args: { cardId: v.string() },
  handler: async (ctx, { cardId }) => {
    await requireUser(ctx);
    return await lakitu.getUsage(ctx, { cardId });
  },
});

export const review = mutation({
  args: { runId: v.string(), approve: v.boolean(), note: v.optional(v.string()) },
  handler: async (ctx, args): Promise<boolean> => {
    const user = await requireUser(ctx);
    const r = await lakitu.reviewRun(ctx, { runId: args.runId, decision: args.approve ? "approved" : "rejected", reviewer: user, note: args.note });
    return r.decided;
  },
});

/** A board and its stages. Its cards come page by page from `cards`. */
export const board = query({
  args: { boardId: v.string() },
  handler: async (ctx, { boardId }) => {
    await requireUser(ctx);
    return await lakitu.getBoard(ctx, { boardId });
  },
});

// The lists below are shaped for `usePaginatedQuery`: `paginationOpts` in, a page out.
// e.g. const { results, loadMore } = usePaginatedQuery(api.lakitu.cards, { boardId }, { initialNumItems: 50 });

/** The signed-in user's boards, newest first. */
export const boards = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => {
    const owner = await requireUser(ctx);
    return await lakitu.listBoards(ctx, { owner, paginationOpts });
  },
});

/** A board's cards (or one stage's), as summaries. */
export const cards = query({
  args: { boardId: v.string(), stageId: v.optional(v.string()), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.listCards(ctx, args);
  },
});

/** A card's runs, newest first. */
export const runs = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.listRuns(ctx, args);
  },
});

/** A run's events in order, after `afterSeq` when given: the live console. */
export const events = query({
  args: { runId: v.string(), afterSeq: v.optional(v.number()), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.listEvents(ctx, args);
  },
});

/** A run's latest events, newest first: the tail of the console, paging back. */
export const latestEvents = query({
  args: { runId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.latestEvents(ctx, args);
  },
});
