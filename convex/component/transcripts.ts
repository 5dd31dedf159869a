import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { listMessages } from "@convex-dev/agent";
import { query } from "../model/functions.js";
import { components } from "./_generated/api.js";
import { load } from "../model/load.js";
import { checkNumItems, excerpt, vPage } from "../model/pages.js";

/** Characters of one message's text a transcript page returns (a page of 100 stays near 2 MiB). */
const MAX_MESSAGE_CHARS = 20_000;

const vMessage = v.object({
  order: v.number(),
  stepOrder: v.number(),
  role: v.string(),
  /** The message text, cut to 20,000 characters (with `truncated: true`). */
  text: v.string(),
  truncated: v.optional(v.boolean()),
  createdAt: v.number(),
});

/**
 * A card's agent conversation (all its runs: a retry continues the same thread), newest first, as a
 * Convex page (`paginationOpts.numItems` 1–100). Each message's text is cut to 20,000 characters so a
 * page stays small whatever the agent wrote.
 */
export const transcript = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  returns: vPage(vMessage),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    const numItems = checkNumItems(args.paginationOpts, 100);
    const { cursor, endCursor } = args.paginationOpts;
    if (!card.threadId) return { page: [], isDone: true, continueCursor: cursor ?? "" };
    const result = await listMessages(ctx, components.agent, {
      threadId: card.threadId,
      paginationOpts: { numItems, cursor, ...(endCursor ? { endCursor } : {}) },
    });
    const page = result.page.map((m) => {
      const text = m.text ?? "";
      return {
        order: m.order,
        stepOrder: m.stepOrder,
        role: m.message?.role ?? "unknown",
        text: excerpt(text, MAX_MESSAGE_CHARS)!,
        ...(text.length > MAX_MESSAGE_CHARS ? { truncated: true } : {}),
        createdAt: m._creationTime,
      };
    });
    return { page, isDone: result.isDone, continueCursor: result.continueCursor };
  },
});
