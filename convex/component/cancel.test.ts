/**
 * Cancel from every run state: the run ends `canceled`, its workflow is woken and ends doing nothing,
 * the sandbox is killed, the token revoked, the card left idle, and the audit log says "cancel".
 * A terminal run is left as it is. Nothing is logged at error level.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { SimRuntime, advance, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import {
  createCalls,
  deferred,
  getCard,
  getRun,
  journal,
  runCard,
  runsOf,
  sessionOfRun,
  startRunning,
  tokenRefused,
  transitionsOf,
  untilWhileHeld,
  workflowStatus,
} from "../testing/runHelpers.js";

let errors: string[] = [];
beforeEach(() => {
  vi.useFakeTimers();
  errors = [];
  const original = console.error.bind(console);
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    errors.push(args.map(String).join(" "));
    original(...args);
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  // A cancel logs nothing at error level (the workflow library's generation-number complaints included).
  expect(errors.filter((e) => /generation number/i.test(e))).toEqual([]);
});

const REPORT = "# Report\n\nOtters are great swimmers.";

/** Everything a cancel must leave behind, checked after time has moved on. */
async function expectCanceled(t: T, cardId: string, runId: string, from: string) {
  const stepsAtCancel = (await journal(t, (await getRun(t, runId)).workflowId!)).length;
  await advance(t, 10_000, 250);
  const run = await getRun(t, runId);
  expect(run.status).toBe("canceled");
  expect(run.error?.code).toBe("canceled");
  expect(run.endedAt).toBeDefined();
  expect(run.qa).toBeUndefined();
  // The workflow was woken, not canceled (a cancel makes @convex-dev/workflow log "Invalid generation
  // number" at error level when a step in flight returns), and ran to its end doing nothing: after the
  // cancel it took at most the bookkeeping steps, never a provision, QA or review step.
  expect((await workflowStatus(t, run.workflowId!)).type).toBe("completed");
  const after = (await journal(t, run.workflowId!)).slice(stepsAtCancel).map((s) => s.name);
  expect(after.filter((name) => !/settleRun|provision|agent_done|review_done/.test(name))).toEqual([]);
  expect(after.filter((name) => /provision/.test(name)).length).toBeLessThanOrEqual(1);
  const card = await getCard(t, cardId);
  expect(card.status).toBe("idle");
  expect(card.note).toContain("canceled");
  expect(await runsOf(t, cardId)).toHaveLength(1);
  const rows = await transitionsOf(t, cardId);
  expect(rows.filter((r) => r.entity === "run" && r.source === "cancel")).toEqual([
    expect.objectContaining({ runId, from, to: "canceled" }),
  ]);
  expect(rows.some((r) => r.entity === "card" && r.source === "cancel" && r.to === "idle")).toBe(true);
  // Nothing after the cancel moved the run again.
  const runRows = rows.filter((r) => r.entity === "run" && r.runId === runId);
  expect(runRows.at(-1)?.to).toBe("canceled");
}

/** `endReason`: a run canceled once QA began had its sandbox killed when QA began (the agent was done). */
async function expectSandboxGone(t: T, runId: string, rt: SimRuntime, endReason = "canceled") {
  expect(rt.sandbox.alive).toBe(false);
  expect(await tokenRefused(rt)).toBe(true);
  expect((await rt.heartbeat()).status).toBe(401);
  const session = await sessionOfRun(t, runId);
  expect(session.state).toBe("ended");
  expect(session.tokenHash).toBeUndefined();
  expect(session.endReason).toBe(endReason);
}

describe("cancel in every run state", () => {
  test("queued: nothing is provisioned", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    expect(await runStatus(t, runId)).toBe("queued");
    expect(await t.mutation(api.runs.cancelRun, { runId, reason: "oops" })).toEqual({ canceled: true, status: "canceled" });
    await expectCanceled(t, cardId, runId, "queued");
    expect(createCalls()).toBe(0);
    expect(provider.alive()).toHaveLength(0);
    // No session was ever recorded: the workflow never began.
    expect((await getRun(t, runId)).session).toBeUndefined();
  });

  test("provisioning: the sandbox that arrives after the cancel is killed and its token refused", async () => {
    const { t, providerHandle, provider } = await setup();
    const gate = deferred<void>();
    provider.override = async (req) => {
      if (req.op === "create") await gate.promise;
      return undefined;
    };
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await untilWhileHeld(() => createCalls() === 1);
    expect(await runStatus(t, runId)).toBe("provisioning");
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: true, status: "canceled" });
    gate.resolve();
    await until(t, async () => provider.sandboxes.size === 1, 5_000);
    await expectCanceled(t, cardId, runId, "provisioning");
    const rt = new SimRuntime(t, provider.latest());
    expect(rt.sandbox.alive).toBe(false);
    expect(await tokenRefused(rt)).toBe(true);
    expect((await sessionOfRun(t, runId)).state).toBe("ended");
    expect(provider.alive()).toHaveLength(0);
    expect(createCalls()).toBe(1);
  });

  test("provisioning, between provider retries: no create is tried after the cancel", async () => {
    const { t, providerHandle, provider } = await setup();
    provider.override = (req) =>
      req.op === "create" ? { ok: false, error: { code: "rate_limited", message: "429", retryable: true } } : undefined;
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    await until(t, async () => createCalls() === 1, 5_000);
    expect(await runStatus(t, runId)).toBe("provisioning");
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: true, status: "canceled" });
    await expectCanceled(t, cardId, runId, "provisioning");
    await advance(t, 30_000, 1_000);
    expect(createCalls()).toBe(1);
    expect((await sessionOfRun(t, runId)).state).toBe("ended");
    expect(provider.alive()).toHaveLength(0);
  });

  test("running", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.events(["working"]);
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: true, status: "canceled" });
    // The token is refused at once, before any kill has run.
    expect(await tokenRefused(rt)).toBe(true);
    await expectCanceled(t, cardId, runId, "running");
    await expectSandboxGone(t, runId, rt);
    expect(provider.alive()).toHaveLength(0);
    // A late completion from the killed runtime changes nothing.
    expect((await rt.complete()).status).toBe(401);
    expect(await runStatus(t, runId)).toBe("canceled");
  });

  test("collecting: canceled after complete, before QA ran", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    expect(await runStatus(t, runId)).toBe("collecting");
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: true, status: "canceled" });
    await expectCanceled(t, cardId, runId, "collecting");
    await expectSandboxGone(t, runId, rt);
    expect(provider.alive()).toHaveLength(0);
    // The card did not advance even though the deliverable was there.
    expect((await getCard(t, cardId)).stageId).toBe((await getRun(t, runId)).stageId);
  });

  test("checking: canceled while QA runs; QA's verdict is not applied", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    // QA's first step (collecting -> checking), as the QA action runs it; then the cancel lands mid-QA.
    const input = await t.mutation(internal.qa.beginChecks, { runId: runId as Id<"runs"> });
    expect(input?.artifacts.map((a) => a.name)).toEqual(["report.md"]);
    expect(await runStatus(t, runId)).toBe("checking");
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: true, status: "canceled" });
    // QA finishing late (its record-and-settle step) must not overwrite the canceled run.
    await t.mutation(internal.qa.recordAndSettle, {
      runId: runId as Id<"runs">,
      report: { ok: true, checks: [], missing: [], failed: [], produced: ["report.md"], summary: "all good" },
    });
    await expectCanceled(t, cardId, runId, "checking");
    await expectSandboxGone(t, runId, rt, "completed");
    expect(provider.alive()).toHaveLength(0);
  });

  test("terminal: a succeeded run is left alone", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", REPORT);
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    const before = await transitionsOf(t, cardId);
    const cardBefore = await getCard(t, cardId);
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: false, status: "succeeded" });
    expect(await t.mutation(api.runs.stopCard, { cardId })).toEqual({ stopped: false });
    await advance(t, 2_000, 250);
    const run = await getRun(t, runId);
    expect(run.status).toBe("succeeded");
    expect(run.error).toBeUndefined();
    expect(await getCard(t, cardId)).toEqual(cardBefore);
    expect(await transitionsOf(t, cardId)).toEqual(before);
    expect((await workflowStatus(t, run.workflowId!)).type).toBe("completed");
    expect(provider.alive()).toHaveLength(0);
  });

  test("terminal: a failed run of a blocked card is left alone", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t, { maxAttempts: 1 });
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.complete("failed", []);
    await until(t, async () => (await getCard(t, cardId)).status === "blocked");
    const before = await transitionsOf(t, cardId);
    expect(await t.mutation(api.runs.cancelRun, { runId })).toEqual({ canceled: false, status: "failed" });
    expect(await t.mutation(api.runs.stopCard, { cardId })).toEqual({ stopped: false });
    expect((await getCard(t, cardId)).status).toBe("blocked");
    expect((await getRun(t, runId)).error?.code).toBe("agent_failed");
    expect(await transitionsOf(t, cardId)).toEqual(before);
  });

  test("a second cancel is a no-op", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId } = await startRunning(t, cardId, providerHandle);
    expect((await t.mutation(api.runs.cancelRun, { runId, reason: "first" })).canceled).toBe(true);
    const rows = await transitionsOf(t, cardId);
    expect(await t.mutation(api.runs.cancelRun, { runId, reason: "second" })).toEqual({ canceled: false, status: "canceled" });
    expect(await transitionsOf(t, cardId)).toEqual(rows);
    expect((await getRun(t, runId)).error?.message).toBe("first");
  });

  test("a canceled card can be run again", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    const { runId } = await startRunning(t, cardId, providerHandle);
    await t.mutation(api.runs.cancelRun, { runId });
    const again = await startRunning(t, cardId, providerHandle);
    expect(again.attempt).toBe(2);
    expect(again.runId).not.toBe(runId);
    // The canceled attempt's runtime cannot act for the new one.
    const old = new SimRuntime(t, provider.sandboxes.get("sbx-1")!);
    expect(await tokenRefused(old)).toBe(true);
    await again.rt.upload("report.md", REPORT);
    await again.rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    // The kill the workflow's last step scheduled runs right after it.
    await until(t, async () => provider.alive().length === 0);
  });
});

describe("stopCard", () => {
  test("stops a running card", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    expect(await t.mutation(api.runs.stopCard, { cardId, reason: "user pressed stop" })).toEqual({ stopped: true });
    await expectCanceled(t, cardId, runId, "running");
    await expectSandboxGone(t, runId, rt);
    expect((await getRun(t, runId)).error?.message).toBe("user pressed stop");
    expect(provider.alive()).toHaveLength(0);
  });

  test("stops a queued card before anything starts", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId } = await runCard(t, cardId, providerHandle);
    expect(await t.mutation(api.runs.stopCard, { cardId })).toEqual({ stopped: true });
    await expectCanceled(t, cardId, runId, "queued");
    expect(createCalls()).toBe(0);
  });

  test("stops a retry the workflow started on its own", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t, { maxAttempts: 2 });
    const first = await startRunning(t, cardId, providerHandle);
    await first.rt.complete("succeeded", []);
    await until(t, async () => (await runsOf(t, cardId)).length === 2);
    const second = (await runsOf(t, cardId))[1];
    await until(t, async () => (await runStatus(t, second.runId)) === "running");
    expect(await t.mutation(api.runs.stopCard, { cardId })).toEqual({ stopped: true });
    await advance(t, 5_000, 250);
    expect(await runStatus(t, second.runId)).toBe("canceled");
    expect(await runStatus(t, first.runId)).toBe("failed");
    expect((await getCard(t, cardId)).status).toBe("idle");
    expect(provider.alive()).toHaveLength(0);
  });

  test("a card with no run has nothing to stop", async () => {
    const { t } = await setup();
    const { cardId } = await makeBoard(t);
    expect(await t.mutation(api.runs.stopCard, { cardId })).toEqual({ stopped: false });
    expect((await getCard(t, cardId)).status).toBe("idle");
    expect(await transitionsOf(t, cardId)).toEqual([]);
  });
});
