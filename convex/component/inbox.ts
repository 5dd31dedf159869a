import { v } from "convex/values";
import { mutation } from "../model/functions.js";
import { fail } from "../shared/errors.js";
import { MAX_INBOX_MESSAGE } from "../shared/defaults.js";
import { load } from "../model/load.js";
import { isTerminal } from "../model/machine.js";

/** Queues a steering / follow-up message for a running agent; it reaches the agent's next step. */
export const sendMessage = mutation({
  args: { runId: v.string(), text: v.string(), author: v.optional(v.string()) },
  returns: v.object({ seq: v.number() }),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    if (isTerminal(run.status)) fail("conflict", `run ${run._id} is ${run.status}; messages reach only active runs`);
    if (args.text.trim().length === 0) fail("invalid_argument", "message text is empty");
    if (args.text.length > MAX_INBOX_MESSAGE) fail("invalid_argument", `message is ${args.text.length} characters; the limit is ${MAX_INBOX_MESSAGE}`);
    const last = await ctx.db.query("inbox").withIndex("by_run_seq", (q) => q.eq("runId", run._id)).order("desc").first();
    const seq = (last?.seq ?? -1) + 1;
    await ctx.db.insert("inbox", { runId: run._id, seq, text: args.text, author: args.author });
    return { seq };
  },
});
