/**
 * The constant-journal property: a run's workflow journal has the same steps whether the agent takes a
 * minute or six hours, and the component's own tables do not grow with the agent's duration (only with
 * what the runtime sent). Heartbeats, watchdog re-arms and reaper ticks add no journal step.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { advance, makeBoard, setup, until, type T } from "../testing/harness.js";
import { getCard, getRun, journal, startRunning, transitionsOf } from "../testing/runHelpers.js";
import { listAll } from "../testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const HEARTBEAT_EVERY_MS = 30_000; // under the default 60 s heartbeat timeout
const EVENT_EVERY_MS = 5 * MINUTE; // under the default 10 min idle limit
const REAP_EVERY_MS = 5 * MINUTE; // the app's cron

/** Runs one card's agent for `durationMs` of fake time, then completes it; returns what the run left behind. */
async function runAgentFor(t: T, cardId: string, providerHandle: string, durationMs: number) {
  const { runId, workflowId, rt } = await startRunning(t, cardId, providerHandle);
  let heartbeats = 0;
  let sent = 0;
  let reapExamined = 0;
  for (let elapsed = 0; elapsed < durationMs; elapsed += HEARTBEAT_EVERY_MS) {
    expect((await rt.heartbeat()).status).toBe(200);
    heartbeats++;
    if (elapsed % EVENT_EVERY_MS === 0) {
      expect((await rt.events([`progress at ${elapsed / 1000} s`])).status).toBe(200);
      sent++;
    }
    if (elapsed % REAP_EVERY_MS === 0) reapExamined += (await t.mutation(api.reaper.reap, {})).examined;
    await advance(t, Math.min(HEARTBEAT_EVERY_MS, durationMs - elapsed), HEARTBEAT_EVERY_MS);
  }
  const before = await getRun(t, runId);
  expect(before.status).toBe("running");
  expect(Date.now() - before.startedAt!).toBeGreaterThanOrEqual(durationMs);
  await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
  expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ accepted: true });
  await until(t, async () => (await getCard(t, cardId)).status === "idle" && (await getRun(t, runId)).status === "succeeded");
  await advance(t, 5_000, 500);

  const steps = await journal(t, workflowId);
  const counts = await t.run(async (ctx) => {
    const id = runId as Id<"runs">;
    const events = await ctx.db.query("events").withIndex("by_run_seq", (q) => q.eq("runId", id)).collect();
    const sessions = await ctx.db.query("sessions").withIndex("by_run", (q) => q.eq("runId", id)).collect();
    const runTransitions = await ctx.db.query("transitions").withIndex("by_run", (q) => q.eq("runId", id)).collect();
    return { events: events.length, sessions: sessions.length, runTransitions: runTransitions.map((r) => `${r.from}->${r.to}:${r.source}`) };
  });
  const cardTransitions = (await transitionsOf(t, cardId)).filter((r) => r.entity === "card").map((r) => `${r.from.split("@")[0]}->${r.to.split("@")[0]}:${r.source}`);
  return { runId, workflowId, steps, heartbeats, sent, reapExamined, ...counts, cardTransitions };
}

describe("constant journal", () => {
  test("a 6-hour agent leaves the same journal and the same bookkeeping as a 1-minute one", async () => {
    const { t, providerHandle } = await setup();
    const { boardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 2, maxDurationMs: 24 * HOUR } } });
    const shortCard = await t.mutation(api.cards.addCard, { boardId, title: "quick" });
    const longCard = await t.mutation(api.cards.addCard, { boardId, title: "slow" });

    const short = await runAgentFor(t, shortCard, providerHandle, MINUTE);
    const long = await runAgentFor(t, longCard, providerHandle, 6 * HOUR);

    // The long run really was long and chatty.
    expect(long.heartbeats).toBe((6 * HOUR) / HEARTBEAT_EVERY_MS);
    expect(long.sent).toBe((6 * HOUR) / EVENT_EVERY_MS);
    expect(long.heartbeats).toBeGreaterThan(100 * short.heartbeats);
    // The reaper, ticking throughout, never found either run due.
    expect(short.reapExamined + long.reapExamined).toBe(0);

    // Same journal, step for step: no polling loop, one event wait for the whole agent phase.
    const shape = (steps: typeof short.steps) => steps.map((s) => `${s.kind}:${s.name}`);
    expect(shape(long.steps)).toEqual(shape(short.steps));
    expect(long.steps.filter((s) => s.kind === "event")).toHaveLength(1);
    expect(long.steps.filter((s) => s.kind === "sleep")).toHaveLength(0);
    expect(shape(short.steps)).toEqual([
      "function:workflow:begin",
      "function:sessions:provision",
      "event:agent_done",
      "function:qa:settleRun",
    ]);
    for (const s of [...short.steps, ...long.steps]) expect(s.runResult?.kind).toBe("success");

    // The component's tables grow with what the runtime sent, not with time.
    expect(short.events).toBe(short.sent);
    expect(long.events).toBe(long.sent);
    expect(long.sessions).toBe(1);
    expect(short.sessions).toBe(1);
    expect(long.runTransitions).toEqual(short.runTransitions);
    expect(long.cardTransitions).toEqual(short.cardTransitions);
    expect((await getCard(t, longCard)).stageId).toBe(stageIds[1]);
  });

  test("a run the watchdog ends after 30 minutes of heartbeats has a bounded journal (and no QA)", async () => {
    const { t, providerHandle } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 10_000 });
    const { cardId } = await makeBoard(t, { maxAttempts: 2 });
    const first = await startRunning(t, cardId, providerHandle);
    // Heartbeat for half an hour (360 watchdog re-arms), then go silent: the watchdog ends it, the workflow retries.
    for (let i = 0; i < 360; i++) {
      expect((await first.rt.heartbeat()).status).toBe(200);
      await advance(t, 5_000, 5_000);
    }
    expect((await getRun(t, first.runId)).status).toBe("running");
    await until(t, async () => (await getRun(t, first.runId)).status === "failed", 60_000, 1_000);
    expect((await getRun(t, first.runId)).error?.code).toBe("heartbeat_timeout");
    await until(t, async () => (await listAll(t, api.runs.listRuns, { cardId })).length === 2, 10_000, 500);
    await advance(t, 5_000, 500);
    const firstSteps = await journal(t, first.workflowId);
    expect(firstSteps.map((s) => `${s.kind}:${s.name}`)).toEqual([
      "function:workflow:begin",
      "function:sessions:provision",
      "event:agent_done",
      "function:qa:settleRun",
    ]);
    // Its last step killed the sandbox and settled the card without running QA.
    expect((await getRun(t, first.runId)).qa).toBeUndefined();
    expect((await transitionsOf(t, cardId)).some((r) => r.entity === "run" && r.runId === first.runId && r.to === "checking")).toBe(false);
  });
});
