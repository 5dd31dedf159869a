/**
 * The embedded deployment's index lookups answer exactly as convex-test's own scans: two identical
 * databases, one indexed, take the same random writes (inserts, patches that move documents between
 * keys, deletes, rolled-back transactions) and the same random index ranges, read inside the writing
 * transaction and after it commits.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { indexDatabases } from "./indexedDb.js";

const schema = defineSchema({
  items: defineTable({ group: v.string(), n: v.number(), tag: v.optional(v.string()), nested: v.optional(v.object({ k: v.number() })) })
    .index("by_group_n", ["group", "n"])
    .index("by_tag", ["tag"])
    .index("by_nested", ["nested.k"]),
  others: defineTable({ x: v.number() }).index("by_x", ["x"]),
});
const modules = { "./_generated/server.js": async () => ({}) };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
});
afterEach(() => {
  vi.useRealTimers();
});

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)] };
}

type Op = { kind: "insert"; table: "items" | "others"; value: Record<string, unknown> } | { kind: "patch"; nth: number; value: Record<string, unknown> } | { kind: "delete"; nth: number };
type Query = { index: string; range: Array<[string, string, unknown]>; order: "asc" | "desc"; take?: number };

const GROUPS = ["a", "b", "c"];

function makeOp(r: ReturnType<typeof random>): Op {
  const x = r.next();
  if (x < 0.5) {
    if (r.next() < 0.2) return { kind: "insert", table: "others", value: { x: r.int(20) } };
    const value: Record<string, unknown> = { group: r.pick(GROUPS), n: r.int(30) };
    if (r.next() < 0.6) value.tag = r.pick(["red", "green", "blue"]);
    if (r.next() < 0.5) value.nested = { k: r.int(10) };
    return { kind: "insert", table: "items", value };
  }
  if (x < 0.85) return { kind: "patch", nth: r.int(1000), value: r.next() < 0.5 ? { n: r.int(30) } : { group: r.pick(GROUPS), tag: r.next() < 0.5 ? undefined : "red" } };
  return { kind: "delete", nth: r.int(1000) };
}

function makeQuery(r: ReturnType<typeof random>): Query {
  const order = r.next() < 0.5 ? "asc" : "desc";
  const take = r.next() < 0.3 ? 1 + r.int(5) : undefined;
  const bounds = (field: string, max: number): Array<[string, string, unknown]> => {
    const out: Array<[string, string, unknown]> = [];
    if (r.next() < 0.6) out.push([r.pick(["gt", "gte"]), field, r.int(max)]);
    if (r.next() < 0.6) out.push([r.pick(["lt", "lte"]), field, r.int(max)]);
    return out;
  };
  switch (r.int(5)) {
    case 0:
      return { index: "by_group_n", range: r.next() < 0.8 ? [["eq", "group", r.pick(GROUPS)], ...(r.next() < 0.5 ? [["eq", "n", r.int(30)] as [string, string, unknown]] : bounds("n", 30))] : [], order, take };
    case 1:
      return { index: "by_tag", range: r.next() < 0.7 ? [["eq", "tag", r.pick(["red", "green", "blue", undefined])]] : [], order, take };
    case 2:
      return { index: "by_nested", range: bounds("nested.k", 10), order, take };
    case 3:
      return { index: "by_x", range: bounds("x", 20), order, take };
    default:
      return { index: "by_creation_time", range: [], order, take };
  }
}

async function runQuery(ctx: any, q: Query) {
  const table = q.index === "by_x" ? "others" : "items";
  let query = ctx.db.query(table).withIndex(q.index, (b: any) => q.range.reduce((acc: any, [op, f, val]) => acc[op](f, val), b)).order(q.order);
  return q.take === undefined ? await query.collect() : await query.take(q.take);
}

async function apply(ctx: any, ops: Op[]) {
  for (const op of ops) {
    if (op.kind === "insert") await ctx.db.insert(op.table, op.value);
    else {
      const all = await ctx.db.query("items").collect();
      if (all.length === 0) continue;
      const target = all[op.nth % all.length];
      if (op.kind === "patch") await ctx.db.patch(target._id, op.value);
      else await ctx.db.delete(target._id);
    }
  }
}

test("index lookups return what convex-test's scans return, in the same order", async () => {
  const indexed = convexTest(schema, modules);
  const scanned = convexTest(schema, modules);
  expect(await indexDatabases(indexed)).toBe(true);
  const r = random(15);
  let compared = 0;
  let nonEmpty = 0;
  for (let round = 0; round < 250; round++) {
    const ops = Array.from({ length: 1 + r.int(4) }, () => makeOp(r));
    const queries = Array.from({ length: 3 }, () => makeQuery(r));
    const rollback = r.next() < 0.1;
    const results: unknown[] = [];
    for (const t of [indexed, scanned]) {
      const run = t.run(async (ctx: any) => {
        await apply(ctx, ops);
        // Read inside the transaction: pending writes must be seen.
        const inside = [];
        for (const q of queries) inside.push(await runQuery(ctx, q));
        if (rollback) throw new Error("rolled back");
        return inside;
      });
      const inside = rollback ? await run.catch((e: Error) => e.message) : await run;
      const after = await t.run(async (ctx: any) => Promise.all(queries.map((q) => runQuery(ctx, q))));
      results.push({ inside, after });
    }
    expect(results[0]).toEqual(results[1]);
    compared += queries.length * 2;
    nonEmpty += (results[0] as { after: unknown[][] }).after.filter((x) => x.length > 0).length;
  }
  // The comparison covered real answers, not only empty ones.
  expect(compared).toBe(1500);
  expect(nonEmpty).toBeGreaterThan(300);
});
