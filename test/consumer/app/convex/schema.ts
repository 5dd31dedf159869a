import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

// The scratch app's own table, as a new Convex app would have one.
export default defineSchema({
  notes: defineTable({ text: v.string() }),
});
