/**
 * Functions that break each Convex limit on purpose, for limitsChecker.test.ts. Not part of the
 * component: the test loads this module as the root of its own convex-test deployment.
 */
import { defineSchema, defineTable, internalMutationGeneric, makeFunctionReference, mutationGeneric, queryGeneric, actionGeneric } from "convex/server";
import { v } from "convex/values";

export const schema = defineSchema({
  things: defineTable({ data: v.any() }),
  items: defineTable({ n: v.number(), pad: v.optional(v.string()) }),
});

const KiB = 1024;
const MiB = 1024 * KiB;
const noopRef = makeFunctionReference<"mutation">("limitsFixture:noop");

export const noop = internalMutationGeneric({ args: {}, handler: async () => null });

export const insertThing = mutationGeneric({
  args: { data: v.any() },
  handler: async (ctx, { data }) => await ctx.db.insert("things", { data }),
});

export const writeDoc = mutationGeneric({
  args: { bytes: v.number() },
  handler: async (ctx, { bytes }) => await ctx.db.insert("things", { data: "x".repeat(bytes) }),
});

export const growDoc = mutationGeneric({
  args: { bytes: v.number() },
  handler: async (ctx, { bytes }) => {
    const id = await ctx.db.insert("things", { data: "small" });
    await ctx.db.patch(id, { data: "x".repeat(bytes) });
    return id;
  },
});

export const replaceDoc = mutationGeneric({
  args: { bytes: v.number() },
  handler: async (ctx, { bytes }) => {
    const id = await ctx.db.insert("things", { data: "small" });
    await ctx.db.replace(id, { data: "x".repeat(bytes) });
    return id;
  },
});

/**
 * Inserts `{ data }` for each value, then replaces each document with `{ data: [replacement, value] }`:
 * the growth of convex-test's bytesWritten for each write, beside the id written.
 */
export const writeSizes = mutationGeneric({
  args: { values: v.array(v.any()), replacement: v.any() },
  handler: async (ctx, { values, replacement }) => {
    const written = async () => (await ctx.meta.getTransactionMetrics()).bytesWritten.used;
    const out: Array<{ id: string; inserted: number; replaced: number }> = [];
    for (const data of values) {
      let before = await written();
      const id = await ctx.db.insert("things", { data });
      const inserted = (await written()) - before;
      before = await written();
      await ctx.db.replace(id, { data: [replacement, data] });
      out.push({ id, inserted, replaced: (await written()) - before });
    }
    return out;
  },
});

export const writeMany = mutationGeneric({
  args: { count: v.number(), padBytes: v.number() },
  handler: async (ctx, { count, padBytes }) => {
    const pad = "p".repeat(padBytes);
    for (let n = 0; n < count; n++) await ctx.db.insert("items", { n, pad });
    return null;
  },
});

export const readAll = queryGeneric({
  args: {},
  handler: async (ctx) => (await ctx.db.query("items").collect()).length,
});

export const getMany = queryGeneric({
  args: { id: v.id("items"), times: v.number() },
  handler: async (ctx, { id, times }) => {
    for (let i = 0; i < times; i++) await ctx.db.get(id);
    return times;
  },
});

export const readAllNested = mutationGeneric({
  args: {},
  handler: async (ctx): Promise<number> => await ctx.runQuery(makeFunctionReference<"query">("limitsFixture:readAll"), {}),
});

export const returnBytes = queryGeneric({
  args: { bytes: v.number() },
  handler: async (_ctx, { bytes }) => "r".repeat(bytes),
});

export const returnArray = queryGeneric({
  args: { length: v.number() },
  handler: async (_ctx, { length }) => Array.from({ length }, (_, i) => i),
});

export const takeArgs = actionGeneric({
  args: { s: v.string() },
  handler: async (_ctx, { s }) => s.length,
});

export const scheduleMany = mutationGeneric({
  args: { count: v.number() },
  handler: async (ctx, { count }) => {
    for (let i = 0; i < count; i++) await ctx.scheduler.runAfter(3_600_000, noopRef, {});
    return null;
  },
});

export const scheduleManyFromAction = actionGeneric({
  args: { count: v.number() },
  handler: async (ctx, { count }) => {
    for (let i = 0; i < count; i++) await ctx.scheduler.runAfter(3_600_000, noopRef, {});
    return null;
  },
});

/** Schedules a write of a 2 MiB document: its failure is only logged by the scheduler. */
export const scheduleOversizedWrite = mutationGeneric({
  args: {},
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, makeFunctionReference<"mutation">("limitsFixture:writeDoc"), { bytes: 2 * MiB });
    return null;
  },
});
