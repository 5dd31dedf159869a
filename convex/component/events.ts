import { v } from "convex/values";
import { query } from "./_generated/server.js";
import { load } from "../model/load.js";
import { checkNumber, listLimit } from "../model/validate.js";
import { isTerminal } from "../model/machine.js";
import { publicEvent, vPublicEvent } from "../model/public.js";

/**
 * A run's events in seq order after `afterSeq` (exclusive; default -1 = from the start). Poll with the
 * returned `nextAfterSeq`, or subscribe to this query for a live stream.
 */
export const listEvents = query({
  args: { runId: v.string(), afterSeq: v.optional(v.number()), limit: v.optional(v.number()) },
  returns: v.object({ events: v.array(vPublicEvent), nextAfterSeq: v.number(), runEnded: v.boolean() }),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    checkNumber("afterSeq", args.afterSeq, { min: -1, max: 1e9 });
    const after = args.afterSeq ?? -1;
    const limit = listLimit(args.limit, 100, 1000);
    const rows = await ctx.db
      .query("events")
      .withIndex("by_run_seq", (q) => q.eq("runId", run._id).gt("seq", after))
      .take(limit);
    return {
      events: rows.map(publicEvent),
      nextAfterSeq: rows.length ? rows[rows.length - 1].seq : after,
      runEnded: isTerminal(run.status),
    };
  },
});
