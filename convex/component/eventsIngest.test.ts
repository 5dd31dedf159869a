/**
 * The `events` route's duplicate check reads the batch's stored seqs with one index range per stretch
 * of consecutive seqs: a resent batch never duplicates, a partly stored one stores only what is
 * missing, sparse and unordered batches are handled, and the run's quota and gap markers keep working.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { makeBoard, setup, type T } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";
import { insertGap } from "../model/gaps.js";
import { listAll } from "../testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const ev = (seq: number, text = `e${seq}`) => ({ seq, kind: "log", text });
const batch = (seqs: number[], text?: (seq: number) => string) => ({ events: seqs.map((s) => ev(s, text?.(s))) });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function running(opts: { maxRunEvents?: number } = {}) {
  const { t, providerHandle } = await setup();
  if (opts.maxRunEvents !== undefined) await t.mutation(api.config.configure, { maxRunEvents: opts.maxRunEvents });
  const { cardId } = await makeBoard(t);
  const { runId, rt } = await startRunning(t, cardId, providerHandle);
  return { t, runId, rt };
}

/** The run's runtime events (seq below the component's own numbering), by seq. */
async function logged(t: T, runId: string) {
  const all = await listAll(t, api.events.listEvents, { runId });
  return all.filter((e) => e.seq <= 1e9).map((e) => ({ seq: e.seq, kind: e.kind, text: e.text }));
}

describe("events: duplicates by (run, seq)", () => {
  test("a resent runtime-sized batch stores nothing; a partly stored one stores only the missing events", async () => {
    const { t, runId, rt } = await running();
    expect((await rt.post("events", batch(range(0, 49)))).body).toEqual({ ok: true, stored: 50, duplicates: 0 });
    expect((await rt.post("events", batch(range(0, 49), (s) => `resent ${s}`))).body).toEqual({ ok: true, stored: 0, duplicates: 50 });
    // Half of it stored already (a lost acknowledgement, then a larger batch).
    expect((await rt.post("events", batch(range(25, 99), (s) => `second ${s}`))).body).toEqual({ ok: true, stored: 50, duplicates: 25 });
    const rows = await logged(t, runId);
    expect(rows.map((e) => e.seq)).toEqual(range(0, 99));
    // First writer wins.
    expect(rows[30].text).toBe("e30");
    expect(rows[60].text).toBe("second 60");
    expect((await t.run(async (ctx) => await ctx.db.get(runId as Id<"runs">)))?.eventCount).toBe(100);
  });

  test("sparse, unordered batches with repeats inside: each seq stored once, first occurrence kept", async () => {
    const { t, runId, rt } = await running();
    expect((await rt.post("events", batch([1, 9, 500]))).body).toMatchObject({ stored: 3, duplicates: 0 });
    // Stretches 0..2, 7, 9..10, 499..501 (1, 9 and 500 stored); 10 appears twice.
    const mixed = { events: [ev(10, "first 10"), ev(2), ev(0), ev(1, "again"), ev(7), ev(9, "again"), ev(10, "second 10"), ev(501), ev(499), ev(500, "again")] };
    expect((await rt.post("events", mixed)).body).toEqual({ ok: true, stored: 6, duplicates: 4 });
    const rows = await logged(t, runId);
    expect(rows.map((e) => e.seq)).toEqual([0, 1, 2, 7, 9, 10, 499, 500, 501]);
    expect(rows.find((e) => e.seq === 10)?.text).toBe("first 10");
    expect(rows.find((e) => e.seq === 1)?.text).toBe("e1");
  });

  test("a seq outside 0..1e9 is refused before anything is stored", async () => {
    const { t, runId, rt } = await running();
    const reply = await rt.post("events", { events: [ev(0), ev(-1)] });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: "invalid_argument", path: "events[1].seq" });
    expect(await logged(t, runId)).toEqual([]);
  });
});

describe("events: quota and gap markers", () => {
  test("the quota counts only the events a batch adds", async () => {
    const { t, runId, rt } = await running({ maxRunEvents: 5 });
    expect((await rt.post("events", batch([0, 1, 2]))).body).toMatchObject({ stored: 3 });
    // Three sent, one new: 4 of 5.
    expect((await rt.post("events", batch([1, 2, 3]))).body).toMatchObject({ stored: 1, duplicates: 2 });
    // A resend of stored events alone never passes the quota.
    expect((await rt.post("events", batch([0, 1, 2, 3]))).body).toMatchObject({ stored: 0, duplicates: 4 });
    expect((await rt.post("events", batch([3, 4]))).body).toMatchObject({ stored: 1, duplicates: 1 });
    const over = await rt.post("events", batch([4, 5]));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ code: "quota_exceeded" });
    expect((await logged(t, runId)).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  test("a gap marker holds its seq: the lost event arriving late is a duplicate, its neighbours are stored", async () => {
    const { t, runId, rt } = await running();
    expect((await rt.post("events", batch([0, 1]))).body).toMatchObject({ stored: 2 });
    await t.run(async (ctx) => await insertGap(ctx, runId as Id<"runs">, { from: 2, to: 3, reason: "test" }));
    expect((await rt.post("events", batch([2, 3, 4]))).body).toEqual({ ok: true, stored: 2, duplicates: 1 });
    // The runtime's own marker (kind gap) in a batch with the events after the hole it covers.
    const withMarker = { events: [{ seq: 5, kind: "gap", level: "warn", text: "events 5..8 were lost", data: JSON.stringify({ from: 5, to: 8, reason: "r" }) }, ev(9), ev(10)] };
    expect((await rt.post("events", withMarker)).body).toEqual({ ok: true, stored: 3, duplicates: 0 });
    expect((await rt.post("events", withMarker)).body).toEqual({ ok: true, stored: 0, duplicates: 3 });
    const rows = await logged(t, runId);
    expect(rows.map((e) => [e.seq, e.kind])).toEqual([[0, "log"], [1, "log"], [2, "gap"], [3, "log"], [4, "log"], [5, "gap"], [9, "log"], [10, "log"]]);
  });
});
