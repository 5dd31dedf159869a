import { v } from "convex/values";
import { listMessages } from "@convex-dev/agent";
import { query } from "./_generated/server.js";
import { components } from "./_generated/api.js";
import { load } from "../model/load.js";
import { listLimit } from "../model/validate.js";

const vMessage = v.object({ order: v.number(), stepOrder: v.number(), role: v.string(), text: v.string(), createdAt: v.number() });

/**
 * A card's agent conversation (all its runs: a retry continues the same thread), oldest first within the
 * page. Page backwards with `beforeCursor` = the returned `cursor` (null when there is nothing older).
 */
export const transcript = query({
  args: { cardId: v.string(), limit: v.optional(v.number()), cursor: v.optional(v.union(v.string(), v.null())) },
  returns: v.object({ messages: v.array(vMessage), cursor: v.union(v.string(), v.null()) }),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    if (!card.threadId) return { messages: [], cursor: null };
    const page = await listMessages(ctx, components.agent, {
      threadId: card.threadId,
      paginationOpts: { numItems: listLimit(args.limit, 50, 200), cursor: args.cursor ?? null },
    });
    const messages = page.page
      .map((m) => ({
        order: m.order,
        stepOrder: m.stepOrder,
        role: m.message?.role ?? "unknown",
        text: m.text ?? "",
        createdAt: m._creationTime,
      }))
      .reverse();
    return { messages, cursor: page.isDone ? null : page.continueCursor };
  },
});
