/**
 * Growth at realistic sizes, under the limits harness: a run with 10,000 events (the last batch a
 * real `events` request), read forward page by page and backward from the latest.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import type { Id } from "../../convex/component/_generated/dataModel.js";
import { DEFAULT_MAX_EVENT_BATCH, DEFAULT_MAX_EVENT_BYTES } from "../../convex/shared/defaults.js";
import { makeBoard, setup } from "../../convex/testing/harness.js";
import { firstPage, listAll } from "../../convex/testing/listAll.js";
import { startRunning } from "../../convex/testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test("a run with 10,000 events: stored, paged forward and back, each once, within the limits", async () => {
  const { t, providerHandle, limits } = await setup();
  const { cardId } = await makeBoard(t);
  const { runId, rt } = await startRunning(t, cardId, providerHandle);
  // Mostly short log lines, one in fifty at the per-event cap (the sizes a chatty agent produces).
  const text = (i: number) => (i % 50 === 0 ? "x".repeat(DEFAULT_MAX_EVENT_BYTES - 64) : `step ${i}: ${"output ".repeat(20)}`);
  // convex-test scans a whole table per query, so storing 10,000 events through the route would take
  // minutes here: the first 9,900 are written as the route writes them, the last batch goes through it.
  await t.run(async (ctx) => {
    const run = await ctx.db.get(runId as Id<"runs">);
    for (let seq = 0; seq < 9_900; seq++) await ctx.db.insert("events", { runId: run!._id, seq, kind: "log", level: "info", text: text(seq), ts: Date.now() });
    await ctx.db.patch(run!._id, { eventCount: (run!.eventCount ?? 0) + 9_900 });
  });
  rt.seq = 9_900;
  const reply = await rt.events(Array.from({ length: DEFAULT_MAX_EVENT_BATCH }, (_, k) => text(9_900 + k)));
  expect(reply.status).toBe(200);

  const forward = await listAll(t, api.events.listEvents, { runId }, 1_000);
  const logged = forward.filter((e) => e.kind === "log");
  expect(logged).toHaveLength(10_000);
  expect(logged.map((e) => e.seq)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));

  const latest = await firstPage(t, api.events.latestEvents, { runId }, 1_000);
  expect(latest.page.length).toBeGreaterThan(0);
  const backward = await listAll(t, api.events.latestEvents, { runId }, 1_000);
  expect(backward).toHaveLength(forward.length);
  expect(limits.violations).toEqual([]);
});
