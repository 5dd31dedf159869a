/**
 * The reaper: its cost follows what is due (not the history of sessions), it ends idle runs, it
 * reconciles sandboxes that were created but never recorded, and it retries kills the provider refused.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { KILL_MAX_TRIES, KILL_RETRY_MS, PROVISION_RETRY } from "../shared/defaults.js";
import type { ProviderResult } from "../shared/validators.js";
import { SimRuntime, advance, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import {
  createCalls,
  deferred,
  getCard,
  getRun,
  runCard,
  sessionOfRun,
  startRunning,
  tokenRefused,
  transitionsOf,
  untilWhileHeld,
} from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const REPORT = "# Report\n\nOtters are great swimmers.";

async function reap(t: T) {
  return await t.mutation(api.reaper.reap, {});
}

/** Runs `reap` and reports the documents it read, as Convex meters them for the transaction. */
async function reapMetered(t: T) {
  return await t.mutation(async (ctx) => {
    const before = await ctx.meta.getTransactionMetrics();
    const result = await ctx.runMutation(api.reaper.reap, {});
    const after = await ctx.meta.getTransactionMetrics();
    return {
      result,
      documentsRead: after.documentsRead.used - before.documentsRead.used,
      databaseQueries: after.databaseQueries.used - before.databaseQueries.used,
    };
  });
}

/** Advances time with the runtime heartbeating (and nothing else) every second. */
async function advanceHeartbeatingOnly(t: T, rt: SimRuntime, ms: number) {
  for (let elapsed = 0; elapsed < ms; elapsed += 1_000) {
    expect((await rt.heartbeat()).status).toBe(200);
    await advance(t, 1_000, 250);
  }
}

async function addCards(t: T, boardId: string, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await t.mutation(api.cards.addCard, { boardId, title: `card ${i}` }));
  return ids;
}

describe("reaper cost", () => {
  test("reads only what is due, whatever the number of past sessions", async () => {
    const { t, providerHandle, provider } = await setup();
    const { boardId, cardId: historyCard } = await makeBoard(t, { maxAttempts: 1 });
    // An earlier run that finished normally; the history below hangs off it.
    const past = await startRunning(t, historyCard, providerHandle);
    await past.rt.upload("report.md", REPORT);
    await past.rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await sessionOfRun(t, past.runId)).state === "ended");
    const anchor = await sessionOfRun(t, past.runId);

    const cards = await addCards(t, boardId, 8);
    const runs = [];
    for (const cardId of cards) runs.push({ cardId, ...(await startRunning(t, cardId, providerHandle)) });
    const due = runs.slice(0, 5);
    const healthy = runs.slice(5);
    const killsBefore = provider.calls.filter((c) => c.op === "kill").length;
    // Five live sessions fall due (as if their idle limit had passed).
    const now = Date.now();
    for (const r of due) {
      const s = await sessionOfRun(t, r.runId);
      await t.run(async (ctx) => ctx.db.patch(s._id, { reapAt: now - 1 }));
    }

    // History: 10,000 ended sessions (some with a stale reapAt) and 2,000 live ones that are not due.
    await t.run(async (ctx) => {
      const base = { runId: anchor.runId, cardId: anchor.cardId, generation: 1, providerHandle, idleTimeoutMs: 600_000, heartbeatTimeoutMs: 60_000 };
      for (let i = 0; i < 10_000; i++) {
        await ctx.db.insert("sessions", {
          ...base,
          state: "ended",
          intendedAt: now - 86_400_000 + i,
          endedAt: now - 3_600_000,
          sandboxId: `old-${i}`,
          reapAt: i % 2 === 0 ? now - 1_000 : undefined,
        });
      }
      for (let i = 0; i < 1_000; i++) {
        await ctx.db.insert("sessions", { ...base, state: "running", intendedAt: now, reapAt: now + 3_600_000 + i });
        await ctx.db.insert("sessions", { ...base, state: "intended", intendedAt: now, reapAt: now + 3_600_000 + i });
      }
    });
    const { result, documentsRead, databaseQueries } = await reapMetered(t);
    expect(result.examined).toBeGreaterThanOrEqual(due.length);
    expect(result.examined).toBeLessThanOrEqual(due.length + 2);
    expect(result.idle).toBe(due.length);
    expect(result.neverStarted + result.orphaned + result.killRetried + result.deadline).toBe(0);
    // Reads are a small multiple of the due sessions, nowhere near the 12,000 sessions stored.
    expect(documentsRead).toBeLessThan(40 * due.length + 40);
    expect(databaseQueries).toBeLessThan(40 * due.length + 40);

    await advance(t, 2_000, 100);
    for (const r of due) {
      expect(r.rt.sandbox.alive).toBe(false);
      expect((await getRun(t, r.runId)).error?.code).toBe("idle_timeout");
      expect(await tokenRefused(r.rt)).toBe(true);
    }
    for (const r of healthy) {
      expect(r.rt.sandbox.alive).toBe(true);
      expect(await runStatus(t, r.runId)).toBe("running");
    }
    expect(provider.alive().map((s) => s.sandboxId).sort()).toEqual(healthy.map((r) => r.rt.sandbox.sandboxId).sort());
    const kills = provider.calls.slice(0).filter((c) => c.op === "kill").slice(killsBefore).map((c) => (c.op === "kill" ? c.sandboxId : ""));
    expect(kills.sort()).toEqual(due.map((r) => r.rt.sandbox.sandboxId).sort());

    // Nothing is due any more: the next tick reads (almost) nothing.
    const again = await reapMetered(t);
    expect(again.result.examined).toBe(0);
    expect(again.documentsRead).toBeLessThanOrEqual(2);
  });

  test("a tick handles at most its batch; the rest waits for the next tick", async () => {
    const { t, providerHandle } = await setup();
    const { boardId } = await makeBoard(t);
    const cards = await addCards(t, boardId, 4);
    const runs = [];
    for (const cardId of cards) runs.push(await startRunning(t, cardId, providerHandle));
    for (const r of runs) {
      const s = await sessionOfRun(t, r.runId);
      await t.run(async (ctx) => ctx.db.patch(s._id, { reapAt: Date.now() - 1 }));
    }
    expect((await t.mutation(api.reaper.reap, { limit: 3 })).examined).toBe(3);
    expect((await t.mutation(api.reaper.reap, { limit: 3 })).examined).toBe(1);
    await advance(t, 2_000, 100);
    for (const r of runs) expect(r.rt.sandbox.alive).toBe(false);
  });
});

describe("idle sessions", () => {
  test("a heartbeating runtime that does nothing is reaped at its idle limit; an active one is not", async () => {
    const { t, providerHandle, provider } = await setup();
    const { boardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 1, idleTimeoutMs: 5_000 } } });
    const [idleCard, busyCard] = await addCards(t, boardId, 2);
    const idle = await startRunning(t, idleCard, providerHandle);
    const busy = await startRunning(t, busyCard, providerHandle);
    // Both heartbeat (the watchdog stays quiet); only one does any work. The app's cron reaps every second.
    let reaped = 0;
    for (let i = 0; i < 8; i++) {
      // (Once reaped, a runtime's token is refused; it would notice and stop.)
      if ((await runStatus(t, idle.runId)) === "running") expect((await idle.rt.heartbeat()).status).toBe(200);
      if ((await runStatus(t, busy.runId)) === "running") {
        expect((await busy.rt.heartbeat()).status).toBe(200);
        expect((await busy.rt.events([`step ${i}`])).status).toBe(200);
      }
      await advance(t, 1_000, 250);
      reaped += (await reap(t)).idle;
    }
    expect(reaped).toBe(1);
    const idleRun = await getRun(t, idle.runId);
    expect(idleRun.status).toBe("failed");
    expect(idleRun.error?.code).toBe("idle_timeout");
    expect(idleRun.endedAt! - idleRun.startedAt!).toBeGreaterThanOrEqual(5_000);
    expect(idleRun.endedAt! - idleRun.startedAt!).toBeLessThan(7_000);
    await until(t, async () => !idle.rt.sandbox.alive, 2_000);
    expect(await tokenRefused(idle.rt)).toBe(true);
    const rows = (await transitionsOf(t, idleCard)).filter((r) => r.entity === "run" && r.to === "failed");
    expect(rows.map((r) => r.source)).toEqual(["reaper"]);
    await until(t, async () => (await getCard(t, idleCard)).status === "blocked", 2_000);

    expect(await runStatus(t, busy.runId)).toBe("running");
    expect(busy.rt.sandbox.alive).toBe(true);
    await busy.rt.upload("report.md", REPORT);
    await busy.rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await runStatus(t, busy.runId)) === "succeeded");
    await until(t, async () => provider.alive().length === 0);
  });

  test("a reap racing the runtime's completion does not fail the run", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 2, idleTimeoutMs: 5_000 } } });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", REPORT);
    await advanceHeartbeatingOnly(t, rt, 6_000);
    expect((await sessionOfRun(t, runId)).reapAt).toBeLessThanOrEqual(Date.now());
    // Due for the reaper, but the runtime completes first; the reaper's tick lands right after.
    expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ accepted: true });
    expect(await reap(t)).toMatchObject({ examined: 1, idle: 0, deadline: 0 });
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    expect((await getRun(t, runId)).status).toBe("succeeded");
    expect((await transitionsOf(t, cardId)).some((r) => r.source === "reaper")).toBe(false);
    await until(t, async () => provider.alive().length === 0);
  });

  test("with the default idle limit, events keep a run alive for an hour", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 1, maxDurationMs: 7_200_000 } } });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    for (let minute = 0; minute < 60; minute++) {
      await rt.heartbeat();
      await rt.events([`minute ${minute}`]);
      await advance(t, 60_000, 20_000);
      expect((await reap(t)).examined).toBe(0);
    }
    expect(await runStatus(t, runId)).toBe("running");
    // Then it goes quiet (heartbeats only) and is reaped after the default 10 minutes.
    for (let i = 0; i < 12; i++) {
      await rt.heartbeat();
      await advance(t, 60_000, 20_000);
      await reap(t);
    }
    expect((await getRun(t, runId)).error?.code).toBe("idle_timeout");
  });
});

describe("deadline backstop", () => {
  test("a run whose watchdog was lost is stopped by the reaper at its deadline (maxDurationMs)", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t, { maxAttempts: 1 });
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 1, maxDurationMs: 5_000 } } });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    const s = await sessionOfRun(t, runId);
    expect(s.reapAt).toBe(s.deadline);
    // The scheduled watchdog is lost (say, canceled by an operator); the runtime stays silent.
    await t.run(async (ctx) => {
      await ctx.scheduler.cancel(s.watchdogId!);
      await ctx.db.patch(s._id, { watchdogId: undefined });
    });
    await advance(t, 4_000, 500);
    expect((await reap(t)).examined).toBe(0);
    await advance(t, 1_500, 500);
    expect(await runStatus(t, runId)).toBe("running");
    expect(await reap(t)).toMatchObject({ examined: 1, deadline: 1 });
    await until(t, async () => !rt.sandbox.alive, 2_000);
    await until(t, async () => (await getCard(t, cardId)).status === "paused", 2_000);
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("budget_exceeded");
    expect((await transitionsOf(t, cardId)).find((r) => r.to === "collecting")?.source).toBe("reaper");
  });
});

describe("orphaned sandboxes", () => {
  test("a sandbox created but never recorded is found by its metadata and killed after the grace period", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { provisionGraceMs: 2_000 });
    const { boardId } = await makeBoard(t, { maxAttempts: 1 });
    const [healthyCard, lostCard] = await addCards(t, boardId, 2);
    const healthy = await startRunning(t, healthyCard, providerHandle);

    // The provider creates the sandbox, but the answer never reaches us (the action hangs).
    const gate = deferred<void>();
    let orphanId = "";
    provider.override = async (req) => {
      if (req.op !== "create") return undefined;
      orphanId = `orphan-${req.sessionId}`;
      provider.sandboxes.set(orphanId, { sandboxId: orphanId, sessionId: req.sessionId, envs: req.envs, metadata: req.metadata, alive: true });
      await gate.promise;
      return { ok: true, op: "create", sandboxId: orphanId };
    };
    const { runId } = await runCard(t, lostCard, providerHandle);
    await untilWhileHeld(() => orphanId !== "");
    const session = await sessionOfRun(t, runId);
    expect(session.state).toBe("starting");
    expect(session.sandboxId).toBeUndefined();
    expect(provider.sandboxes.get(orphanId)!.metadata["lakitu.session"]).toBe(session._id);

    // Before the grace period nothing is due.
    expect((await reap(t)).examined).toBe(0);
    await untilWhileHeld(() => Date.now() >= session.intendedAt + 2_000);
    const result = await reap(t);
    expect(result).toMatchObject({ examined: 1, neverStarted: 1, idle: 0, orphaned: 0 });
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("never_started");
    await untilWhileHeld(() => !provider.sandboxes.get(orphanId)!.alive);
    expect(provider.calls.some((c) => c.op === "list" && c.metadata["lakitu.session"] === session._id)).toBe(true);
    expect(healthy.rt.sandbox.alive).toBe(true);

    // The create finally answers: too late, the sandbox stays dead and the run stays failed.
    gate.resolve();
    await until(t, async () => (await getCard(t, lostCard)).status === "blocked", 10_000);
    expect((await sessionOfRun(t, runId)).state).toBe("ended");
    expect(await runStatus(t, runId)).toBe("failed");
    expect(createCalls()).toBe(2);
    expect(await tokenRefused(new SimRuntime(t, provider.sandboxes.get(orphanId)!))).toBe(true);

    // The healthy run was never touched.
    expect(provider.alive().map((s) => s.sandboxId)).toEqual([healthy.rt.sandbox.sandboxId]);
    expect(await runStatus(t, healthy.runId)).toBe("running");
    expect(provider.calls.some((c) => c.op === "kill" && c.sandboxId === healthy.rt.sandbox.sandboxId)).toBe(false);
  });

  test("sandboxes whose create answer was lost on every try are all killed when provisioning gives up", async () => {
    const { t, providerHandle, provider } = await setup();
    provider.override = (req) => {
      if (req.op !== "create") return undefined;
      const sandboxId = `lost-${provider.sandboxes.size + 1}`;
      provider.sandboxes.set(sandboxId, { sandboxId, sessionId: req.sessionId, envs: req.envs, metadata: req.metadata, alive: true });
      throw new Error("connection reset after create");
    };
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId } = await runCard(t, cardId, providerHandle);
    await until(t, async () => (await runStatus(t, runId)) === "failed", 60_000, 250);
    expect((await getRun(t, runId)).error?.code).toBe("provider_failed");
    expect(provider.sandboxes.size).toBe(PROVISION_RETRY.maxAttempts);
    await until(t, async () => provider.alive().length === 0, 10_000, 250);
    expect((await sessionOfRun(t, runId)).state).toBe("ended");
    await until(t, async () => (await getCard(t, cardId)).status === "blocked", 5_000);
  });

  test("a sandbox whose create answer was lost on the first try is killed with the run's own sandbox", async () => {
    const { t, providerHandle, provider } = await setup();
    let lost = 1;
    provider.override = (req) => {
      if (req.op !== "create" || lost-- <= 0) return undefined;
      provider.sandboxes.set("lost-1", { sandboxId: "lost-1", sessionId: req.sessionId, envs: req.envs, metadata: req.metadata, alive: true });
      throw new Error("connection reset after create");
    };
    const { cardId, stageIds } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    expect(rt.sandbox.sandboxId).not.toBe("lost-1");
    expect(createCalls()).toBe(2);
    // The first try's runtime holds a token that was replaced: it cannot act for the run.
    expect(await tokenRefused(new SimRuntime(t, provider.sandboxes.get("lost-1")!))).toBe(true);
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    await until(t, async () => (await sessionOfRun(t, runId)).state === "ended");
    await advance(t, 5_000, 250);
    expect(rt.sandbox.alive).toBe(false);
    expect(provider.sandboxes.get("lost-1")!.alive).toBe(false);
    expect(provider.alive()).toHaveLength(0);
  });

  test("a run ended elsewhere whose session is still live is ended by the reaper", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    // Simulate a lost kill request: the run is terminal but the session was never asked to end.
    const s = await sessionOfRun(t, runId);
    await t.run(async (ctx) => {
      await ctx.db.patch(runId as Id<"runs">, { status: "failed", error: { code: "test", message: "ended elsewhere" } });
      if (s.watchdogId) await ctx.scheduler.cancel(s.watchdogId);
      await ctx.db.patch(s._id, { reapAt: Date.now() - 1, watchdogId: undefined });
    });
    expect(await reap(t)).toMatchObject({ examined: 1, orphaned: 1 });
    await advance(t, 2_000, 100);
    expect(rt.sandbox.alive).toBe(false);
    expect((await sessionOfRun(t, runId)).endReason).toBe("run_already_ended");
  });
});

describe("kill retries", () => {
  test("a kill the provider keeps refusing leaves the session ending; a later reap ends it", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    let refuse = true;
    const refusal: ProviderResult = { ok: false, error: { code: "unavailable", message: "503 from provider", retryable: true } };
    provider.override = (req) => (req.op === "kill" && refuse ? refusal : undefined);
    await t.mutation(api.runs.cancelRun, { runId });
    // The kill action retries with backoff, then gives up and leaves it to the reaper.
    await advance(t, 40_000, 500);
    const killTries = () => provider.calls.filter((c) => c.op === "kill").length;
    expect(killTries()).toBe(KILL_MAX_TRIES);
    let session = await sessionOfRun(t, runId);
    expect(session.state).toBe("ending");
    expect(session.tokenHash).toBeUndefined();
    expect(rt.sandbox.alive).toBe(true);
    expect(await tokenRefused(rt)).toBe(true);

    // Not due yet: the reaper leaves it alone until KILL_RETRY_MS after the request.
    expect((await reap(t)).examined).toBe(0);
    await advance(t, KILL_RETRY_MS - 40_000 + 1_000, 1_000);
    // Still refusing: the reaper asks again (a fresh round of tries) and looks again later.
    const reapedAt = Date.now();
    expect(await reap(t)).toMatchObject({ examined: 1, killRetried: 1 });
    await advance(t, 40_000, 500);
    expect(killTries()).toBe(2 * KILL_MAX_TRIES);
    session = await sessionOfRun(t, runId);
    expect(session.state).toBe("ending");
    expect(session.reapAt).toBe(reapedAt + KILL_RETRY_MS);
    expect((await reap(t)).examined).toBe(0);
    expect(rt.sandbox.alive).toBe(true);

    // The provider recovers; the next due reap ends the session.
    refuse = false;
    await advance(t, reapedAt + KILL_RETRY_MS - Date.now(), 1_000);
    expect(await reap(t)).toMatchObject({ examined: 1, killRetried: 1 });
    await advance(t, 1_000, 100);
    expect(rt.sandbox.alive).toBe(false);
    session = await sessionOfRun(t, runId);
    expect(session.state).toBe("ended");
    expect(session.reapAt).toBeUndefined();
    expect((await reap(t)).examined).toBe(0);
    expect(await runStatus(t, runId)).toBe("canceled");
  });

  test("a kill that fails once is retried by the kill action itself", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    let refusals = 1;
    provider.override = (req) =>
      req.op === "kill" && refusals-- > 0 ? { ok: false, error: { code: "rate_limited", message: "429", retryable: true } } : undefined;
    await t.mutation(api.runs.cancelRun, { runId });
    await advance(t, 5_000, 250);
    expect(rt.sandbox.alive).toBe(false);
    expect((await sessionOfRun(t, runId)).state).toBe("ended");
    expect(provider.calls.filter((c) => c.op === "kill")).toHaveLength(2);
  });
});
