import { v } from "convex/values";
import { internalMutation, query } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import { COMPONENT_EVENT_SEQ_BASE } from "../shared/defaults.js";
import { GAP_KIND, GAP_SCAN_PAGE, gapEnd, insertGap } from "../model/gaps.js";
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

/**
 * Marks every hole in a completed run's runtime log (seqs below the component's own) with a `gap`
 * event, one page per transaction. `nextSeq` is the seq expected next; `eventCount` (from the
 * completion) extends the check past the last stored event.
 */
export const scanGaps = internalMutation({
  args: { runId: v.id("runs"), nextSeq: v.number(), eventCount: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, { runId, nextSeq, eventCount }) => {
    if (!(await ctx.db.get(runId))) return null; // deleted meanwhile: nothing to mark
    const rows = await ctx.db
      .query("events")
      .withIndex("by_run_seq", (q) => q.eq("runId", runId).gte("seq", nextSeq).lt("seq", COMPONENT_EVENT_SEQ_BASE))
      .take(GAP_SCAN_PAGE);
    let expected = nextSeq;
    for (const e of rows) {
      if (e.seq > expected) await insertGap(ctx, runId, { from: expected, to: e.seq - 1, reason: "never received by the component" });
      expected = Math.max(expected, e.seq + 1, e.kind === GAP_KIND ? gapEnd(e.data) + 1 : 0);
    }
    if (rows.length === GAP_SCAN_PAGE) {
      await ctx.scheduler.runAfter(0, internal.events.scanGaps, { runId, nextSeq: expected, ...(eventCount === undefined ? {} : { eventCount }) });
    } else if (eventCount !== undefined && eventCount > expected) {
      await insertGap(ctx, runId, { from: expected, to: Math.min(eventCount, COMPONENT_EVENT_SEQ_BASE) - 1, reason: "sent by the runtime but never received" });
    }
    return null;
  },
});
