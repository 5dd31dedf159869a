/**
 * Failure paths of a card run: QA retries and blocking, the watchdog (heartbeat loss, sandbox gone,
 * deadline), provider create failures, cancel racing a create, and human review.
 */
import { CARD_STATUSES } from "../shared/validators.js";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { PROVISION_RETRY } from "../shared/defaults.js";
import { SimRuntime, advance, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import {
  advanceHeartbeating,
  createCalls,
  deferred,
  getCard,
  getRun,
  runCard,
  runsOf,
  sessionOfRun,
  sessionsOf,
  startRunning,
  tokenRefused,
  transitionsOf,
  untilWhileHeld,
  workflowStatus,
} from "../testing/runHelpers.js";
import type { ProviderResult } from "../shared/validators.js";
import { listAll } from "../testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const REPORT = "# Report\n\nOtters are great swimmers.";

async function allSessionsEnded(t: T, cardId: string) {
  const sessions = await sessionsOf(t, cardId);
  return sessions.length > 0 && sessions.every((s) => s.state === "ended");
}

describe("QA retries", () => {
  test("a missing deliverable is retried with its context, then the card is blocked", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t, { maxAttempts: 3 });
    const first = await startRunning(t, cardId, providerHandle);
    expect(first.attempt).toBe(1);
    expect((await first.rt.upload("notes.md", "some notes about otters")).status).toBe(200);
    expect((await first.rt.complete("succeeded", ["notes.md"])).body).toMatchObject({ accepted: true });

    // Attempt 2 is started by the workflow, with what went wrong.
    await until(t, async () => (await runsOf(t, cardId)).length === 2);
    const run1 = await getRun(t, first.runId);
    expect(run1.status).toBe("failed");
    expect(run1.error?.code).toBe("qa_failed");
    expect(run1.qa?.missing).toEqual(["report.md"]);
    const [, second] = await runsOf(t, cardId);
    expect(second.attempt).toBe(2);
    expect(second.stageId).toBe(stageIds[0]);
    expect(second.retryContext).toMatchObject({
      previousRunId: first.runId,
      attempt: 1,
      missing: ["report.md"],
      produced: ["notes.md"],
      reviewerNotes: [],
    });
    expect(second.retryContext?.problem).toContain("report.md");
    expect((await getCard(t, cardId)).currentRunId).toBe(second.runId);
    // The failed attempt's sandbox is gone and its token dead.
    await until(t, async () => !provider.sandboxes.get("sbx-1")!.alive);
    expect(await tokenRefused(first.rt)).toBe(true);

    // Attempt 2 uploads something else again; attempt 3 carries both attempts' history forward.
    await until(t, async () => (await runStatus(t, second.runId)) === "running");
    const rt2 = new SimRuntime(t, provider.latest());
    expect(rt2.sandbox.sandboxId).not.toBe(first.rt.sandbox.sandboxId);
    expect(Number(rt2.sandbox.envs.LAKITU_GENERATION)).toBeGreaterThan(Number(first.rt.sandbox.envs.LAKITU_GENERATION));
    await rt2.upload("draft.md", "a draft without the report");
    await rt2.complete("succeeded", ["draft.md"]);
    await until(t, async () => (await runsOf(t, cardId)).length === 3);
    const third = (await runsOf(t, cardId))[2];
    expect(third.attempt).toBe(3);
    expect(third.retryContext).toMatchObject({ previousRunId: second.runId, attempt: 2, missing: ["report.md"], produced: ["draft.md"] });

    // The last attempt fails too: blocked, with the problem as the note; nothing left running.
    await until(t, async () => (await runStatus(t, third.runId)) === "running");
    await new SimRuntime(t, provider.latest()).complete("succeeded", []);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked");
    await advance(t, 2_000, 100);
    const card = await getCard(t, cardId);
    expect(card.stageId).toBe(stageIds[0]);
    expect(card.note).toContain("report.md");
    expect(await runsOf(t, cardId)).toHaveLength(3);
    expect((await getRun(t, third.runId)).status).toBe("failed");
    expect(provider.alive()).toHaveLength(0);
    expect(await allSessionsEnded(t, cardId)).toBe(true);
    const cardRows = (await transitionsOf(t, cardId)).filter((r) => r.entity === "card");
    expect(cardRows.at(-1)).toMatchObject({ to: "blocked", source: "workflow" });
    for (const r of await runsOf(t, cardId)) expect((await workflowStatus(t, r.workflowId!)).type).toBe("completed");
  });

  test("a retry that produces the deliverable succeeds and the card advances", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    const first = await startRunning(t, cardId, providerHandle);
    await first.rt.complete("succeeded", []);
    await until(t, async () => (await runsOf(t, cardId)).length === 2);
    const second = (await runsOf(t, cardId))[1];
    expect(second.retryContext).toMatchObject({ missing: ["report.md"], produced: [] });
    await until(t, async () => (await runStatus(t, second.runId)) === "running");
    const rt2 = new SimRuntime(t, provider.latest());
    await rt2.upload("report.md", REPORT);
    await rt2.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    const card = await getCard(t, cardId);
    expect(card.status).toBe("idle");
    const run2 = await getRun(t, second.runId);
    expect(run2.status).toBe("succeeded");
    expect(run2.qa?.ok).toBe(true);
    expect(await runsOf(t, cardId)).toHaveLength(2);
    await until(t, async () => provider.alive().length === 0);
    expect(await allSessionsEnded(t, cardId)).toBe(true);
  });
});

describe("the card's current attempt", () => {
  test("1 after runCard, 2 on the retry, kept while the settled card keeps its run (blocked, done), gone once moved; getCard and listCards return it", async () => {
    const { t, providerHandle, provider } = await setup();
    const { boardId, cardId, stageIds } = await makeBoard(t, { maxAttempts: 2 });
    const listed = async () => (await listAll(t, api.cards.listCards, { boardId })).find((c) => c.cardId === cardId)!;
    const expectAttempt = async (runId: string | undefined, attempt: number | undefined) => {
      for (const card of [await getCard(t, cardId), await listed()]) {
        expect(card.currentRunId).toBe(runId);
        expect(card.currentAttempt).toBe(attempt);
        if (attempt === undefined) expect(card).not.toHaveProperty("currentAttempt");
      }
    };
    await expectAttempt(undefined, undefined);

    const first = await runCard(t, cardId, providerHandle);
    await expectAttempt(first.runId, 1);
    await until(t, async () => (await runStatus(t, first.runId)) === "running");
    await new SimRuntime(t, provider.latest()).complete("succeeded", []);
    await until(t, async () => (await runsOf(t, cardId)).length === 2);
    const [, second] = await runsOf(t, cardId);
    expect(second.attempt).toBe(2);
    await expectAttempt(second.runId, 2);

    // The last attempt fails: the blocked card keeps its run, and so its attempt.
    await until(t, async () => (await runStatus(t, second.runId)) === "running");
    await new SimRuntime(t, provider.latest()).complete("succeeded", []);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked");
    await expectAttempt(second.runId, 2);

    // A move by hand clears the current run and its attempt.
    await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[1] });
    await expectAttempt(undefined, undefined);

    // Attempts count per stage: the Draft run is attempt 1; the done card keeps it.
    const draft = await startRunning(t, cardId, providerHandle);
    await expectAttempt(draft.runId, 1);
    await draft.rt.upload("report.md", REPORT);
    await draft.rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).status === "done");
    await expectAttempt(draft.runId, 1);
  });
});

describe("watchdog", () => {
  test("a runtime that stops heartbeating fails the run with heartbeat_timeout; the next attempt starts", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 5_000 });
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    expect((await rt.heartbeat()).status).toBe(200);
    // Silent from here on.
    await advance(t, 4_000, 250);
    expect(await runStatus(t, runId)).toBe("running");
    expect(rt.sandbox.alive).toBe(true);
    await until(t, async () => (await runStatus(t, runId)) !== "running", 5_000, 250);
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("heartbeat_timeout");
    await until(t, async () => !rt.sandbox.alive, 5_000, 250);
    expect(await tokenRefused(rt)).toBe(true);
    expect(provider.calls.some((c) => c.op === "status" && c.sandboxId === rt.sandbox.sandboxId)).toBe(true);
    // The workflow woke: attempt 2 started with the loss as its problem.
    await until(t, async () => (await runsOf(t, cardId)).length === 2, 5_000, 250);
    const next = (await runsOf(t, cardId))[1];
    expect(next.retryContext?.previousRunId).toBe(runId);
    expect(next.retryContext?.problem).toMatch(/heartbeat/);
    const rows = (await transitionsOf(t, cardId)).filter((r) => r.runId === runId && r.entity === "run");
    expect(rows.find((r) => r.to === "failed")?.source).toBe("watchdog");
  });

  test("the heartbeat timeout blocks the card after the last attempt", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 2_000 });
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked", 10_000, 250);
    expect((await getRun(t, runId)).error?.code).toBe("heartbeat_timeout");
    expect((await getCard(t, cardId)).note).toMatch(/heartbeat/);
    await advance(t, 1_000, 250);
    expect(rt.sandbox.alive).toBe(false);
    expect(provider.alive()).toHaveLength(0);
    expect(await allSessionsEnded(t, cardId)).toBe(true);
  });

  test("a runtime that keeps heartbeating is not killed over the same span", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 5_000 });
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    // Ten timeouts' worth of time, heartbeating at under half the timeout.
    await advanceHeartbeating(t, rt, 50_000, 2_000, 250);
    expect(await runStatus(t, runId)).toBe("running");
    expect(rt.sandbox.alive).toBe(true);
    expect(await runsOf(t, cardId)).toHaveLength(1);
    expect((await rt.events(["still here"])).status).toBe(200);
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
    await until(t, async () => provider.alive().length === 0);
  });

  test("with the default timeout, heartbeats every 20 s keep a run alive for 5 minutes and silence ends it", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await advanceHeartbeating(t, rt, 300_000, 20_000, 2_000);
    expect(await runStatus(t, runId)).toBe("running");
    expect(rt.sandbox.alive).toBe(true);
    const silentFrom = Date.now();
    await until(t, async () => (await runStatus(t, runId)) !== "running", 120_000, 1_000);
    expect((await getRun(t, runId)).error?.code).toBe("heartbeat_timeout");
    // It fired no earlier than a full timeout after the last heartbeat that was written.
    const session = await sessionOfRun(t, runId);
    expect(Date.now() - session.heartbeatAt!).toBeGreaterThanOrEqual(60_000);
    expect(Date.now() - silentFrom).toBeLessThan(60_000 + 20_000 + 5_000);
  });

  test("a heartbeat that arrives while the watchdog asks the provider keeps the run alive", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 4_000 });
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    const gate = deferred<void>();
    let probes = 0;
    provider.override = async (req) => {
      if (req.op === "status" && probes++ === 0) await gate.promise;
      return undefined;
    };
    // Silent past the timeout: the watchdog fires and probes the provider, whose answer is slow.
    await untilWhileHeld(() => probes === 1, 10_000, 250);
    expect(await runStatus(t, runId)).toBe("running");
    // The runtime was only slow: its heartbeat lands before the provider answers.
    expect((await rt.heartbeat()).status).toBe(200);
    gate.resolve();
    await advance(t, 2_000, 250);
    expect(await runStatus(t, runId)).toBe("running");
    expect(rt.sandbox.alive).toBe(true);
    // The watchdog is armed again: continued silence still ends the run.
    await until(t, async () => (await runStatus(t, runId)) !== "running", 10_000, 250);
    expect((await getRun(t, runId)).error?.code).toBe("heartbeat_timeout");
    expect(probes).toBe(2);
  });

  test("a completion that arrives while the watchdog asks the provider wins", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 4_000 });
    const { cardId, stageIds } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    const gate = deferred<void>();
    let probes = 0;
    provider.override = async (req) => {
      if (req.op === "status" && probes++ === 0) await gate.promise;
      return undefined;
    };
    await untilWhileHeld(() => probes === 1, 10_000, 250);
    await rt.upload("report.md", REPORT);
    expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ accepted: true });
    gate.resolve();
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    const run = await getRun(t, runId);
    expect(run.status).toBe("succeeded");
    expect(run.error).toBeUndefined();
    expect(await runsOf(t, cardId)).toHaveLength(1);
    expect((await transitionsOf(t, cardId)).some((r) => r.source === "watchdog")).toBe(false);
  });

  test("a sandbox the provider reports gone ends the run with sandbox_gone", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 3_000 });
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    provider.crash(rt.sandbox.sandboxId);
    await until(t, async () => (await runStatus(t, runId)) !== "running", 10_000, 250);
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("sandbox_gone");
    expect(await tokenRefused(rt)).toBe(true);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked", 5_000, 250);
    await until(t, async () => allSessionsEnded(t, cardId), 5_000, 250);
    expect(provider.alive()).toHaveLength(0);
  });

  test("a sandbox killed for crossing a resource limit ends the run with a code naming the limit", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 3_000 });
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    const reason = `sandbox ${rt.sandbox.sandboxId} was killed by the host: disk limit 5 MiB exceeded (used 9 MiB)`;
    provider.crash(rt.sandbox.sandboxId, reason);
    await until(t, async () => (await runStatus(t, runId)) !== "running", 10_000, 250);
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error).toMatchObject({ code: "sandbox_limit_disk", message: reason });
    expect(await tokenRefused(rt)).toBe(true);
  });

  test("a run past its deadline (maxDurationMs) ends its agent phase even while it heartbeats; the card is paused, not retried", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t, { maxAttempts: 1 });
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 1, maxDurationMs: 3_000 } } });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    const startedAt = (await getRun(t, runId)).startedAt!;
    expect((await getRun(t, runId)).deadline).toBe(startedAt + 3_000);
    // The sandbox was created with a provider-side timeout just past the deadline.
    const create = provider.calls.find((c) => c.op === "create");
    expect(create?.op === "create" && create.timeoutMs).toBeGreaterThan(3_000);
    await advanceHeartbeating(t, rt, 2_500, 500, 250);
    expect(await runStatus(t, runId)).toBe("running");
    await until(t, async () => (await runStatus(t, runId)) !== "running", 3_000, 100);
    await until(t, async () => !rt.sandbox.alive, 2_000, 100);
    expect((await rt.heartbeat()).status).toBe(401);
    await until(t, async () => (await getCard(t, cardId)).status === "paused", 2_000, 100);
    const run = await getRun(t, runId);
    // Nothing was uploaded, so QA fails: the run fails on its budget and the card waits to be resumed.
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("budget_exceeded");
    expect(run.error?.message).toContain("maxDurationMs");
    const collecting = (await transitionsOf(t, cardId)).find((r) => r.to === "collecting");
    expect(collecting?.source).toBe("watchdog");
    expect(collecting!.at - startedAt).toBeGreaterThanOrEqual(3_000);
    expect(collecting!.at - startedAt).toBeLessThan(4_000);
    expect((await getCard(t, cardId)).note).toContain("budget reached (maxDurationMs)");
    expect(await listAll(t, api.runs.listRuns, { cardId })).toHaveLength(1);
    expect(provider.alive()).toHaveLength(0);
  });
});

describe("provider create failures", () => {
  test("a non-retryable error fails the run at once with provider_failed", async () => {
    const { t, providerHandle, provider } = await setup();
    provider.override = (req) =>
      req.op === "create" ? { ok: false, error: { code: "auth", message: "bad API key", retryable: false } } : undefined;
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId } = await runCard(t, cardId, providerHandle);
    await until(t, async () => (await runStatus(t, runId)) === "failed", 5_000);
    const run = await getRun(t, runId);
    expect(run.error?.code).toBe("provider_failed");
    expect(run.error?.message).toContain("auth");
    expect(createCalls()).toBe(1);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked", 5_000);
    expect((await getCard(t, cardId)).note).toContain("bad API key");
    await advance(t, 20_000, 1_000);
    expect(createCalls()).toBe(1);
    expect(await allSessionsEnded(t, cardId)).toBe(true);
  });

  test("retryable errors are retried with backoff, then the run proceeds normally", async () => {
    const { t, providerHandle, provider } = await setup();
    const failures: ProviderResult[] = [
      { ok: false, error: { code: "rate_limited", message: "429 slow down", retryable: true } },
      { ok: false, error: { code: "busy", message: "503 try later", retryable: true } },
    ];
    provider.override = (req) => (req.op === "create" ? failures.shift() : undefined);
    const { cardId, stageIds } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await until(t, async () => (await runStatus(t, runId)) === "running", 20_000, 100);
    expect(createCalls()).toBe(3);
    expect(provider.alive()).toHaveLength(1);
    // Each try minted its own token: only the last one works.
    const creates = provider.calls.filter((c) => c.op === "create");
    const tokens = new Set(creates.map((c) => (c.op === "create" ? c.envs.LAKITU_TOKEN : "")));
    expect(tokens.size).toBe(3);
    const rt = new SimRuntime(t, provider.latest());
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    expect((await getRun(t, runId)).status).toBe("succeeded");
    expect(await runsOf(t, cardId)).toHaveLength(1);
  });

  test("a provider that always fails retryably ends the run failed after the step's retries", async () => {
    const { t, providerHandle, provider } = await setup();
    provider.override = (req) =>
      req.op === "create" ? { ok: false, error: { code: "unavailable", message: "provider down", retryable: true } } : undefined;
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId, workflowId } = await runCard(t, cardId, providerHandle);
    await until(t, async () => (await runStatus(t, runId)) === "failed", 120_000, 500);
    const run = await getRun(t, runId);
    expect(run.error?.code).toBe("provider_failed");
    expect(run.error?.message).toContain("provider down");
    expect(createCalls()).toBe(PROVISION_RETRY.maxAttempts);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked", 5_000);
    await until(t, async () => (await workflowStatus(t, workflowId)).type !== "inProgress", 5_000);
    expect((await workflowStatus(t, workflowId)).type).toBe("completed");
    await advance(t, 60_000, 1_000);
    expect(createCalls()).toBe(PROVISION_RETRY.maxAttempts);
    expect(await allSessionsEnded(t, cardId)).toBe(true);
  });

  test("a provider action that throws is retried like a retryable error", async () => {
    const { t, providerHandle, provider } = await setup();
    let throws = 1;
    provider.override = (req) => {
      if (req.op === "create" && throws-- > 0) throw new Error("socket hang up");
      return undefined;
    };
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await until(t, async () => (await runStatus(t, runId)) === "running", 20_000, 100);
    expect(createCalls()).toBe(2);
  });
});

describe("runtime faster than the provider", () => {
  test("a runtime that completes before its sandbox was recorded still counts, and the sandbox is killed", async () => {
    const { t, providerHandle, provider } = await setup();
    const gate = deferred<void>();
    provider.override = async (req) => {
      if (req.op !== "create") return undefined;
      // The sandbox boots and its runtime starts working before create() returns to us.
      const sandboxId = "sbx-fast";
      provider.sandboxes.set(sandboxId, { sandboxId, sessionId: req.sessionId, envs: req.envs, metadata: req.metadata, alive: true });
      await gate.promise;
      return { ok: true, op: "create", sandboxId };
    };
    const { cardId, stageIds } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await untilWhileHeld(() => provider.sandboxes.has("sbx-fast"));
    const rt = new SimRuntime(t, provider.sandboxes.get("sbx-fast")!);
    expect((await rt.upload("report.md", REPORT)).status).toBe(200);
    expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ accepted: true });
    expect(await runStatus(t, runId)).toBe("collecting");
    gate.resolve();
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1], 10_000);
    expect((await getRun(t, runId)).status).toBe("succeeded");
    await until(t, async () => !rt.sandbox.alive, 5_000);
    expect((await sessionOfRun(t, runId)).state).toBe("ended");
    expect(await runsOf(t, cardId)).toHaveLength(1);
  });
});

describe("cancel racing provisioning", () => {
  test("a run canceled before its workflow began never creates a sandbox", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    expect((await t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
    await advance(t, 5_000, 100);
    expect(await runStatus(t, runId)).toBe("canceled");
    expect(createCalls()).toBe(0);
    expect(provider.alive()).toHaveLength(0);
    expect((await getCard(t, cardId)).status).toBe("idle");
  });

  test("a sandbox whose create returns after the run was canceled is killed", async () => {
    const { t, providerHandle, provider } = await setup();
    const gate = deferred<void>();
    provider.override = async (req) => {
      if (req.op === "create") await gate.promise;
      return undefined; // fall through: the default create makes the sandbox
    };
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await untilWhileHeld(() => createCalls() === 1);
    expect(await runStatus(t, runId)).toBe("provisioning");
    expect((await t.mutation(api.runs.cancelRun, { runId, reason: "changed my mind" })).canceled).toBe(true);
    gate.resolve();
    await until(t, async () => provider.sandboxes.size === 1, 5_000);
    const sbx = provider.latest();
    await until(t, async () => !sbx.alive, 5_000);
    expect(await runStatus(t, runId)).toBe("canceled");
    expect(provider.calls.some((c) => c.op === "kill" && c.sandboxId === sbx.sandboxId)).toBe(true);
    expect(await tokenRefused(new SimRuntime(t, sbx))).toBe(true);
    await until(t, async () => allSessionsEnded(t, cardId), 5_000);
    expect((await getCard(t, cardId)).status).toBe("idle");
    expect(await runsOf(t, cardId)).toHaveLength(1);
  });

  test("create returning after the cancel's kill already ended the session: the late sandbox is killed", async () => {
    const { t, providerHandle, provider } = await setup();
    const gate = deferred<void>();
    provider.override = async (req) => {
      if (req.op === "create") await gate.promise;
      return undefined;
    };
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await untilWhileHeld(() => createCalls() === 1);
    await t.mutation(api.runs.cancelRun, { runId });
    const session = await sessionOfRun(t, runId);
    // The cancel's kill finds nothing (no sandbox yet) and ends the session while create is held.
    await untilWhileHeld(async () => (await sessionOfRun(t, runId)).state === "ended");
    expect(provider.calls.some((c) => c.op === "list" && c.metadata["lakitu.session"] === session._id)).toBe(true);
    gate.resolve();
    await until(t, async () => provider.sandboxes.size === 1 && !provider.latest().alive, 5_000);
    expect(provider.alive()).toHaveLength(0);
    expect(await runStatus(t, runId)).toBe("canceled");
  });

  test("create returning while the cancel's kill is still listing: the late sandbox is killed", async () => {
    const { t, providerHandle, provider } = await setup();
    const createGate = deferred<void>();
    const listGate = deferred<void>();
    provider.override = async (req) => {
      if (req.op === "create") await createGate.promise;
      if (req.op === "list") {
        // The provider answers the list as of when it received it: before the sandbox existed.
        await listGate.promise;
        return { ok: true, op: "list", sandboxes: [] };
      }
      return undefined;
    };
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await untilWhileHeld(() => createCalls() === 1);
    await t.mutation(api.runs.cancelRun, { runId });
    await untilWhileHeld(() => provider.calls.some((c) => c.op === "list"));
    // The sandbox comes up and is recorded while the kill is still waiting for its list.
    createGate.resolve();
    await untilWhileHeld(async () => (await sessionOfRun(t, runId)).sandboxId !== undefined);
    expect((await sessionOfRun(t, runId)).state).toBe("ending");
    listGate.resolve();
    await until(t, async () => (await sessionOfRun(t, runId)).state === "ended", 10_000);
    await advance(t, 5_000, 100);
    expect(provider.latest().alive).toBe(false);
    expect(provider.alive()).toHaveLength(0);
  });
});

describe("review", () => {
  async function reachReview(t: T, cardId: string, providerHandle: string) {
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).status === "awaiting_review");
    return { runId, rt };
  }

  test("a stage requiring approval parks the card; approving the artifact advances it", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t, { requiresApproval: true });
    const { runId, rt } = await reachReview(t, cardId, providerHandle);
    const run = await getRun(t, runId);
    expect(run.status).toBe("succeeded");
    expect(run.review).toEqual({ state: "pending", notes: [] });
    // Waiting for a human costs no sandbox.
    await until(t, async () => !rt.sandbox.alive);
    await advance(t, 10_000, 1_000);
    expect((await getCard(t, cardId)).status).toBe("awaiting_review");
    expect((await getCard(t, cardId)).stageId).toBe(stageIds[0]);
    const [artifact] = await listAll(t, api.artifacts.listArtifacts, { runId });
    const reviewed = await t.mutation(api.artifacts.reviewArtifact, { artifactId: artifact.artifactId, decision: "approved", reviewer: "ada" });
    expect(reviewed.review).toBe("approved");
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    expect((await getCard(t, cardId)).status).toBe("idle");
    expect((await getRun(t, runId)).review?.state).toBe("approved");
    expect(await runsOf(t, cardId)).toHaveLength(1);
    expect(provider.alive()).toHaveLength(0);
    // Every card row of the audit log names card statuses only ("approved" is the run's review state).
    const statuses = new Set<string>(CARD_STATUSES);
    const cardRows = (await transitionsOf(t, cardId)).filter((r) => r.entity === "card");
    // (a row's `to` is a status, or status@stage when the card also moved)
    expect(cardRows.filter((r) => !statuses.has(r.to.split("@")[0])).map((r) => r.to)).toEqual([]);
    expect(cardRows.some((r) => r.from.startsWith("awaiting_review") && r.to.startsWith("idle"))).toBe(true);
  });

  test("the card advances only once every current artifact is approved", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t, { requiresApproval: true });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", "# Report\n\nFirst version.");
    await rt.upload("notes.md", "my notes");
    await rt.upload("report.md", REPORT); // supersedes the first version
    await rt.complete("succeeded", ["report.md", "notes.md"]);
    await until(t, async () => (await getCard(t, cardId)).status === "awaiting_review");
    const current = (await listAll(t, api.artifacts.listArtifacts, { runId })).filter((a) => !a.superseded);
    expect(current.map((a) => a.name).sort()).toEqual(["notes.md", "report.md"]);
    const report = current.find((a) => a.name === "report.md")!;
    const notes = current.find((a) => a.name === "notes.md")!;
    await t.mutation(api.artifacts.reviewArtifact, { artifactId: report.artifactId, decision: "approved" });
    await advance(t, 3_000, 250);
    expect((await getCard(t, cardId)).status).toBe("awaiting_review");
    expect((await getRun(t, runId)).review?.state).toBe("pending");
    await t.mutation(api.artifacts.reviewArtifact, { artifactId: notes.artifactId, decision: "approved" });
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
  });

  test("a rejection with a note starts a new attempt carrying the note", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t, { requiresApproval: true, maxAttempts: 2 });
    const { runId } = await reachReview(t, cardId, providerHandle);
    const [artifact] = await listAll(t, api.artifacts.listArtifacts, { runId });
    await t.mutation(api.artifacts.reviewArtifact, {
      artifactId: artifact.artifactId,
      decision: "rejected",
      note: "cite your sources",
    });
    await until(t, async () => (await runsOf(t, cardId)).length === 2);
    const second = (await runsOf(t, cardId))[1];
    expect(second.attempt).toBe(2);
    expect(second.retryContext?.reviewerNotes).toEqual(["cite your sources"]);
    expect(second.retryContext?.previousRunId).toBe(runId);
    expect(second.retryContext?.produced).toEqual(["report.md"]);
    expect(second.retryContext?.problem).toMatch(/reject/);
    expect((await getRun(t, runId)).review?.state).toBe("rejected");
    // The second attempt is approved as a whole run and the card moves on.
    await until(t, async () => (await runStatus(t, second.runId)) === "running");
    const rt2 = new SimRuntime(t, provider.latest());
    await rt2.upload("report.md", "# Report\n\nOtters are great swimmers (Smith 2020).");
    await rt2.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).status === "awaiting_review");
    expect((await t.mutation(api.artifacts.reviewRun, { runId: second.runId, decision: "approved" })).decided).toBe(true);
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
  });

  test("a rejection of the last attempt blocks the card with the note", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t, { requiresApproval: true, maxAttempts: 1 });
    const { runId } = await reachReview(t, cardId, providerHandle);
    expect((await t.mutation(api.artifacts.reviewRun, { runId, decision: "rejected", note: "off topic" })).decided).toBe(true);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked");
    expect(await runsOf(t, cardId)).toHaveLength(1);
    expect((await getCard(t, cardId)).note).toMatch(/reject/);
  });

  for (const how of ["cancelRun", "stopCard"] as const) {
    test(`${how} while awaiting review leaves the card idle and ends the workflow`, async () => {
      const { t, providerHandle, provider } = await setup();
      const { cardId, stageIds } = await makeBoard(t, { requiresApproval: true });
      const { runId } = await reachReview(t, cardId, providerHandle);
      const { workflowId } = await getRun(t, runId);
      expect((await workflowStatus(t, workflowId!)).type).toBe("inProgress");
      if (how === "cancelRun") {
        const r = await t.mutation(api.runs.cancelRun, { runId, reason: "not needed" });
        expect(r).toEqual({ canceled: true, status: "succeeded" });
      } else {
        expect(await t.mutation(api.runs.stopCard, { cardId, reason: "not needed" })).toEqual({ stopped: true });
      }
      await advance(t, 5_000, 100);
      const card = await getCard(t, cardId);
      expect(card.status).toBe("idle");
      expect(card.stageId).toBe(stageIds[0]);
      // The succeeded run stays succeeded; its workflow no longer waits (woken, it ended on its own).
      expect(await runStatus(t, runId)).toBe("succeeded");
      expect((await workflowStatus(t, workflowId!)).type).toBe("completed");
      expect(await runsOf(t, cardId)).toHaveLength(1);
      expect(provider.alive()).toHaveLength(0);
      const cancelRow = (await transitionsOf(t, cardId)).find((r) => r.source === "cancel");
      expect(cancelRow).toMatchObject({ entity: "card", from: "awaiting_review", to: "idle" });
      // A late review decision changes nothing.
      const [artifact] = await listAll(t, api.artifacts.listArtifacts, { runId });
      await t.mutation(api.artifacts.reviewArtifact, { artifactId: artifact.artifactId, decision: "approved" });
      await advance(t, 2_000, 100);
      expect((await getCard(t, cardId)).status).toBe("idle");
      expect((await getCard(t, cardId)).stageId).toBe(stageIds[0]);
    });
  }
});
