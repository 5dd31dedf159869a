import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import schema from "./schema.js";
import { mapPage, pageOptions, vPage } from "../model/pages.js";
import { internalMutation } from "./_generated/server.js";
import { query } from "../model/functions.js";
import { internal } from "./_generated/api.js";
import { COMPONENT_EVENT_SEQ_BASE } from "../shared/defaults.js";
import { GAP_KIND, GAP_SCAN_PAGE, gapEnd, insertGap } from "../model/gaps.js";
import { load } from "../model/load.js";
import { checkNumber } from "../model/validate.js";
import { publicEvent, vPublicEvent } from "../model/public.js";

/**
 * A run's events in seq order after `afterSeq` (exclusive; default -1 = from the start), as a Convex
 * page (`paginationOpts.numItems` 1–1000; a page also stops early past 4 MiB, see model/pages.ts).
 * Follow a live run by subscribing with the last page's cursor, or by calling again with `afterSeq` =
 * the last seq seen and `cursor: null`.
 */
export const listEvents = query({
  args: { runId: v.string(), afterSeq: v.optional(v.number()), paginationOpts: paginationOptsValidator },
  returns: vPage(vPublicEvent),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    // Up to past the component's own events (from COMPONENT_EVENT_SEQ_BASE), so they can be followed too.
    checkNumber("afterSeq", args.afterSeq, { min: -1, max: 2 * COMPONENT_EVENT_SEQ_BASE });
    const after = args.afterSeq ?? -1;
    const page = await paginator(ctx.db, schema)
      .query("events")
      .withIndex("by_run_seq", (q) => q.eq("runId", run._id).gt("seq", after))
      .paginate(pageOptions(args.paginationOpts, MAX_EVENT_PAGE));
    return mapPage(page, publicEvent);
  },
});

/**
 * A run's latest events, newest first, as a Convex page: the first page is the latest `numItems`
 * events and each next page goes further back (`paginationOpts.numItems` 1–1000).
 */
export const latestEvents = query({
  args: { runId: v.string(), paginationOpts: paginationOptsValidator },
  returns: vPage(vPublicEvent),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    const page = await paginator(ctx.db, schema)
      .query("events")
      .withIndex("by_run_seq", (q) => q.eq("runId", run._id))
      .order("desc")
      .paginate(pageOptions(args.paginationOpts, MAX_EVENT_PAGE));
    return mapPage(page, publicEvent);
  },
});

const MAX_EVENT_PAGE = 1_000;

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
