/**
 * The rest of the functions the board UI (`LakituDashboard` from `lakitu/react`) calls, one per
 * `LakituFunctions` key the example's lakitu.ts has no wrapper for: the card and run views, the run
 * panel's lists, and the board's buttons. Each takes the args of the `Lakitu` client method of the same
 * name, minus what the app fills in (the owner, the reviewer, the message's author).
 * Each function starts with an auth check you must fill in for your app.
 */
import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { vStageInput } from "lakitu";
import { mutation, query } from "./_generated/server";
import { lakitu, requireUser } from "./lakitu";

// ---- the card and run views ----

/** One whole card (context included). */
export const getCard = query({
  args: { cardId: v.string() },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.getCard(ctx, args);
  },
});

/** One whole run: its state, QA report and usage. */
export const getRun = query({
  args: { runId: v.string() },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.getRun(ctx, args);
  },
});

/** The card's plan: the agent's task list. */
export const getPlan = query({
  args: { cardId: v.string() },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.getPlan(ctx, args);
  },
});

/** A download URL of one artifact, or null. */
export const getArtifactUrl = query({
  args: { artifactId: v.string() },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.getArtifactUrl(ctx, args);
  },
});

// ---- the run panel's lists (pages, for `usePaginatedQuery`) ----

/** A run's (or a card's) artifacts. */
export const listArtifacts = query({
  args: { runId: v.optional(v.string()), cardId: v.optional(v.string()), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.listArtifacts(ctx, args);
  },
});

/** The card's audit log, newest first. */
export const listTransitions = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.listTransitions(ctx, args);
  },
});

/** The card's agent conversation, newest first. */
export const transcript = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.transcript(ctx, args);
  },
});

/** Runs not yet finished, across all boards: the live sandboxes. */
export const listActiveRuns = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.listActiveRuns(ctx, args);
  },
});

// ---- the board's buttons ----

/** The New board form: the caller owns the board. */
export const createBoard = mutation({
  args: { name: v.string(), description: v.optional(v.string()), stages: v.array(vStageInput) },
  handler: async (ctx, args): Promise<string> => {
    const owner = await requireUser(ctx);
    const { boardId } = await lakitu.createBoard(ctx, { ...args, owner });
    return boardId;
  },
});

/** The Edit form of a card (`description: null` clears it). */
export const updateCard = mutation({
  args: { cardId: v.string(), title: v.optional(v.string()), description: v.optional(v.union(v.string(), v.null())) },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.updateCard(ctx, args);
  },
});

export const deleteCard = mutation({
  args: { cardId: v.string() },
  handler: async (ctx, args) => {
    await requireUser(ctx);
    return await lakitu.deleteCard(ctx, args);
  },
});

/** The Resume button of a card paused by its budget; `raise` sets higher limits for the next run. */
export const resumeCard = mutation({
  args: {
    cardId: v.string(),
    raise: v.optional(v.object({ maxSteps: v.optional(v.number()), maxCostUsd: v.optional(v.number()), maxDurationMs: v.optional(v.number()) })),
    note: v.optional(v.string()),
  },
  handler: async (ctx, args): Promise<{ runId: string }> => {
    await requireUser(ctx);
    const { runId } = await lakitu.resumeCard(ctx, args);
    return { runId };
  },
});

/** Approve, or Reject with a note (the next attempt gets it): the caller is the reviewer. */
export const reviewRun = mutation({
  args: { runId: v.string(), decision: v.union(v.literal("approved"), v.literal("rejected")), note: v.optional(v.string()) },
  handler: async (ctx, args): Promise<boolean> => {
    const reviewer = await requireUser(ctx);
    return (await lakitu.reviewRun(ctx, { ...args, reviewer })).decided;
  },
});

/** A steering message to the running agent: the caller is its author. */
export const sendMessage = mutation({
  args: { runId: v.string(), text: v.string() },
  handler: async (ctx, args) => {
    const author = await requireUser(ctx);
    return await lakitu.sendMessage(ctx, { ...args, author });
  },
});
