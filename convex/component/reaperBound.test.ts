/**
 * The reaper's batch is bounded by its real cost: a session costs at most REAP_RANGES_PER_SESSION
 * index ranges (measured here on the expensive paths), and a tick after an outage with hundreds due
 * handles REAP_MAX_BATCH of them, staying within a quarter of Convex's 4,096 ranges.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { REAP_MAX_BATCH, REAP_RANGES_PER_SESSION, REAP_TICK_RANGE_BUDGET } from "../shared/defaults.js";
import { makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import { sessionOfRun, startRunning } from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** One tick, with the index ranges, documents and bytes it read as Convex meters the transaction. */
async function reapMetered(t: T, limit?: number) {
  return await t.mutation(async (ctx) => {
    const before = await ctx.meta.getTransactionMetrics();
    const result = await ctx.runMutation(api.reaper.reap, limit === undefined ? {} : { limit });
    const after = await ctx.meta.getTransactionMetrics();
    return {
      result,
      ranges: after.databaseQueries.used - before.databaseQueries.used,
      documents: after.documentsRead.used - before.documentsRead.used,
      bytes: after.bytesRead.used - before.bytesRead.used,
    };
  });
}

describe("reaper batch bound", () => {
  test("the batch bound is what the range budget allows, far below Convex's 4,096", () => {
    expect(REAP_MAX_BATCH * REAP_RANGES_PER_SESSION).toBeLessThanOrEqual(REAP_TICK_RANGE_BUDGET);
    expect(REAP_TICK_RANGE_BUDGET).toBeLessThanOrEqual(4_096 / 4);
  });

  test("live runs ended by the reaper (idle and past deadline) cost at most REAP_RANGES_PER_SESSION ranges each", async () => {
    const { t, providerHandle } = await setup();
    const { boardId, cardId } = await makeBoard(t);
    const cards = [cardId];
    for (let i = 0; i < 3; i++) cards.push(await t.mutation(api.cards.addCard, { boardId, title: `card ${i}` }));
    const runs = [];
    for (const c of cards) runs.push(await startRunning(t, c, providerHandle));
    const now = Date.now();
    for (const [i, r] of runs.entries()) {
      const s = await sessionOfRun(t, r.runId);
      // Half idle, half past their deadline: the two paths that end a live run.
      await t.run(async (ctx) => ctx.db.patch(s._id, { reapAt: now - 1, ...(i % 2 ? { deadline: now - 1 } : {}) }));
    }
    const m = await reapMetered(t);
    expect(m.result.examined).toBe(runs.length);
    expect(m.result.idle + m.result.deadline).toBe(runs.length);
    expect(m.ranges / runs.length).toBeLessThanOrEqual(REAP_RANGES_PER_SESSION);
    // Bytes too: a full batch at this rate stays far below 16 MiB read.
    expect((m.bytes / runs.length) * REAP_MAX_BATCH).toBeLessThan(4 * 1024 * 1024);
  });

  test("500 due sessions after an outage: each tick handles at most REAP_MAX_BATCH within the range budget; all drain", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const anchor = await startRunning(t, cardId, providerHandle);
    await anchor.rt.complete("failed", []);
    await until(t, async () => (await runStatus(t, anchor.runId)) === "failed");
    const now = Date.now();
    await t.run(async (ctx) => {
      const base = { runId: anchor.runId as never, cardId: cardId as never, generation: 1, providerHandle, idleTimeoutMs: 600_000, heartbeatTimeoutMs: 60_000, intendedAt: now - 3_600_000 };
      for (let i = 0; i < 500; i++) {
        // Sandboxes whose runs already ended (orphans) and kills never confirmed, all due at once.
        await ctx.db.insert("sessions", { ...base, state: i % 2 ? "running" : "ending", sandboxId: `outage-${i}`, reapAt: now - 1 - i });
      }
    });
    let left = 500;
    let ticks = 0;
    while (left > 0) {
      // An app asking for more than the bound is clamped, not refused.
      const m = await reapMetered(t, 10_000);
      expect(m.result.examined).toBe(Math.min(REAP_MAX_BATCH, left));
      expect(m.ranges).toBeLessThanOrEqual(REAP_TICK_RANGE_BUDGET);
      expect(m.result.orphaned + m.result.killRetried).toBe(m.result.examined);
      left -= m.result.examined;
      ticks++;
    }
    expect(ticks).toBe(Math.ceil(500 / REAP_MAX_BATCH));
    expect((await reapMetered(t)).result.examined).toBe(0);
  });
});
