/**
 * What runs spent: tokens, USD, model steps and sandbox time, for one run, one card (all its runs) or
 * one board (all its cards), and the turns of a run with the cost of each and where it came from.
 */
import { v } from "convex/values";
import { query } from "../model/functions.js";
import { fail } from "../shared/errors.js";
import { load } from "../model/load.js";
import { paginationOptsValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import schema from "./schema.js";
import { mapPage, pageOptions, vPage } from "../model/pages.js";
import { addUsage, ZERO_USAGE } from "../model/turns.js";

const vTotals = v.object({
  inputTokens: v.number(),
  cachedInputTokens: v.number(),
  outputTokens: v.number(),
  costUsd: v.number(),
  steps: v.number(),
  sandboxSeconds: v.number(),
});

/** Totals of exactly one of: a run, a card, a board. A run's sandbox time counts up while it runs. */
export const getUsage = query({
  args: { runId: v.optional(v.string()), cardId: v.optional(v.string()), boardId: v.optional(v.string()) },
  returns: vTotals,
  handler: async (ctx, args) => {
    const given = [args.runId, args.cardId, args.boardId].filter((x) => x !== undefined).length;
    if (given !== 1) fail("invalid_argument", `getUsage takes exactly one of runId, cardId or boardId (got ${given})`);
    let usage;
    if (args.runId !== undefined) {
      const run = await load(ctx, "runs", args.runId);
      const session = run.sessionId ? await ctx.db.get(run.sessionId) : null;
      const started = session?.startedAt;
      const sandboxSeconds = started === undefined ? 0 : Math.max(0, (session?.endedAt ?? Date.now()) - started) / 1000;
      usage = addUsage(run.usage, { sandboxSeconds });
    } else if (args.cardId !== undefined) {
      usage = addUsage((await load(ctx, "cards", args.cardId)).usage, {});
    } else {
      usage = addUsage((await load(ctx, "boards", args.boardId!)).usage, {});
    }
    return { ...ZERO_USAGE, ...usage } as typeof vTotals.type;
  },
});

/**
 * A run's model turns in step order (tokens, cost, where the cost came from, and state) as a Convex
 * page (`paginationOpts.numItems` 1–1000). The stored reply is not part of it.
 */
export const listTurns = query({
  args: { runId: v.string(), paginationOpts: paginationOptsValidator },
  returns: vPage(
    v.object({
      step: v.number(),
      model: v.string(),
      status: v.string(),
      reservedUsd: v.number(),
      inputTokens: v.optional(v.number()),
      cachedInputTokens: v.optional(v.number()),
      outputTokens: v.optional(v.number()),
      costUsd: v.optional(v.number()),
      costSource: v.optional(v.string()),
      priceSource: v.optional(v.string()),
    }),
  ),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    const page = await paginator(ctx.db, schema)
      .query("turns")
      .withIndex("by_run_step", (q) => q.eq("runId", run._id))
      .paginate(pageOptions(args.paginationOpts, 1_000));
    return mapPage(page, (t) => ({
      step: t.step,
      model: t.model,
      status: t.status,
      reservedUsd: t.reservedUsd,
      inputTokens: t.inputTokens,
      cachedInputTokens: t.cachedInputTokens,
      outputTokens: t.outputTokens,
      costUsd: t.costUsd,
      costSource: t.costSource,
      priceSource: t.priceSource,
    }));
  },
});
