/**
 * Orphan reconciliation over the real provider path: a sandbox the provider created for a session whose
 * start was never recorded (the crash between "created" and "recorded") is found by its metadata and
 * killed by the reaper, while a healthy run's sandbox is left alone.
 */
import { Sandbox } from "e2b";
import { afterAll, beforeAll, expect, test } from "vitest";
import { api, card, runCard, stack, waitFor, type Stack } from "./stack.js";

let s: Stack;
beforeAll(async () => {
  s = await stack();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

test("the reaper kills a sandbox that was created but never recorded, and never a healthy one", async () => {
  const { t, providerHandle, url } = s.deployment;
  const { boardId, stageIds } = await t.mutation(api.boards.createBoard, {
    name: "reconcile",
    stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }] }, { name: "Done", kind: "done" }],
  });
  // A healthy run that keeps working (and heartbeating) for a while.
  const healthyCard = await t.mutation(api.cards.addCard, { boardId, title: "Healthy", context: { scripted_delay_ms: "5000" } });
  const { runId: healthyRun } = await runCard(s, healthyCard);
  await waitFor("the healthy run to be running", async () => (await t.query(api.runs.getRun, { runId: healthyRun }))?.status === "running");

  // The crash: a run whose session was written as intended, the provider created its sandbox, and the
  // process died before recording it. Both documents are what the workflow would have left.
  const orphanCard = await t.mutation(api.cards.addCard, { boardId, title: "Orphan" });
  const { runId, sessionId } = await t.run(async (ctx) => {
    const now = Date.now();
    const runId = await ctx.db.insert("runs", {
      cardId: orphanCard as never, boardId: boardId as never, stageId: stageIds[0] as never, attempt: 1, generation: 1,
      status: "provisioning", providerHandle, callbackUrl: url, queuedAt: now - 600_000, retriesLeft: 0,
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, steps: 0 },
    });
    const sessionId = await ctx.db.insert("sessions", {
      runId, cardId: orphanCard as never, generation: 1, providerHandle, state: "starting", intendedAt: now - 600_000,
      idleTimeoutMs: 600_000, heartbeatTimeoutMs: 60_000, reapAt: now - 1,
    });
    await ctx.db.patch(runId, { sessionId });
    return { runId, sessionId };
  });
  const orphan = await Sandbox.create("lakitu", {
    apiKey: s.host.apiKey, apiUrl: s.host.url, sandboxUrl: s.host.url,
    metadata: { "lakitu.session": sessionId, "lakitu.run": runId }, timeoutMs: 600_000,
  });
  await orphan.commands.run("sleep 600", { background: true });
  const before = s.host.list().map((b) => b.sandboxId);
  expect(before).toContain(orphan.sandboxId);
  const healthyBox = s.host.list().find((b) => b.metadata["lakitu.run"] === healthyRun)!;

  const r = await t.mutation(api.reaper.reap, {});
  expect(r).toMatchObject({ examined: 1, neverStarted: 1, idle: 0, deadline: 0 });
  await waitFor("the orphan sandbox to be killed", () => !s.host.list().some((b) => b.sandboxId === orphan.sandboxId), 10_000);
  await waitFor("the orphan session to end", async () => (await t.query(api.runs.getRun, { runId }))?.session?.state === "ended");
  const run = (await t.query(api.runs.getRun, { runId }))!;
  expect(run.status).toBe("failed");
  expect(run.error?.code).toBe("never_started");
  expect(run.session?.state).toBe("ended");

  // The healthy sandbox was never touched and its run finishes normally.
  expect(s.host.list().some((b) => b.sandboxId === healthyBox.sandboxId)).toBe(true);
  expect((await t.mutation(api.reaper.reap, {})).examined).toBe(0);
  await waitFor("the healthy card to reach Done", async () => (await card(t, healthyCard)).status === "done", 40_000);
}, 90_000);
