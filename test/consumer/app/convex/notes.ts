import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const add = mutation({
  args: { text: v.string() },
  handler: async (ctx, { text }) => await ctx.db.insert("notes", { text }),
});

export const list = query({
  args: {},
  handler: async (ctx) => await ctx.db.query("notes").take(10),
});
