/**
 * Growth at realistic sizes, under the limits harness: 500 sessions come due at once after an outage
 * (the deployment was down, nothing heartbeated), half of them live runs that must be ended (the
 * reaper's expensive path) and half sandboxes of runs that already ended. Ticks of the reaper, as the
 * cron calls it, drain them all; the harness fails any tick that crosses a limit.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import type { Id } from "../../convex/component/_generated/dataModel.js";
import { makeBoard, setup } from "../../convex/testing/harness.js";
import { sessionOfRun, startRunning } from "../../convex/testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test("500 due sessions after an outage: the reaper drains them tick by tick within the limits", async () => {
  const { t, providerHandle, limits } = await setup();
  const { cardId } = await makeBoard(t, { maxAttempts: 1 });
  const anchor = await startRunning(t, cardId, providerHandle);
  const session = await sessionOfRun(t, anchor.runId);
  const now = Date.now();
  await t.run(async (ctx) => {
    const strip = <D extends { _id: unknown; _creationTime: unknown }>({ _id, _creationTime, ...rest }: D) => rest;
    const card = strip((await ctx.db.get(cardId as Id<"cards">))!);
    const run = strip((await ctx.db.get(anchor.runId as Id<"runs">))!);
    const base = strip(session);
    for (let i = 0; i < 500; i++) {
      if (i % 2 === 0) {
        // A live run on its own card, idle since the outage began. Copies drive no workflow.
        const copyCard = await ctx.db.insert("cards", { ...card, title: `card ${i}` });
        const copyRun = await ctx.db.insert("runs", { ...run, cardId: copyCard, workflowId: undefined, sessionId: undefined });
        const s = await ctx.db.insert("sessions", { ...base, runId: copyRun, cardId: copyCard, sandboxId: `outage-${i}`, watchdogId: undefined, reapAt: now - 1 - i });
        await ctx.db.patch(copyRun, { sessionId: s });
      } else {
        // A sandbox whose run already ended (the anchor's run is about to end below).
        await ctx.db.insert("sessions", { ...base, sandboxId: `orphan-${i}`, watchdogId: undefined, reapAt: now - 1 - i });
      }
    }
  });
  await anchor.rt.complete("failed", []);
  await t.finishInProgressScheduledFunctions();

  let examined = 0;
  for (let tick = 0; tick < 100 && examined < 500; tick++) {
    const result = await t.mutation(api.reaper.reap, {});
    expect(result.examined).toBeGreaterThan(0);
    examined += result.examined;
  }
  expect(examined).toBe(500);
  expect((await t.mutation(api.reaper.reap, {})).examined).toBe(0);
  // Every live copy was ended by the reaper, and every session was asked to stop.
  const left = await t.run(async (ctx) => ({
    running: (await ctx.db.query("runs").collect()).filter((r) => r.status === "running").length,
    idleEnded: (await ctx.db.query("runs").collect()).filter((r) => r.error?.code === "idle_timeout").length,
    live: (await ctx.db.query("sessions").collect()).filter((s) => s.state === "running" && s._id !== session._id).length,
  }));
  expect(left).toEqual({ running: 0, idleEnded: 250, live: 0 });
  expect(limits.violations).toEqual([]);
});
