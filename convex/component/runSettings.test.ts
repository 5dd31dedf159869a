/**
 * "A run keeps the stage settings it started with": updateStage while a run is in progress changes
 * nothing for that run (task, KSA policy, QA, approval) and everything for the next one.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { makeBoard, runStatus, setup, until } from "../testing/harness.js";
import { getCard, getRun, startRunning } from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const OLD = { allowedKsas: ["file", "artifacts", "plan"], prompt: "Old prompt." };
const NEW = {
  allowedKsas: ["file"],
  prompt: "New prompt.",
  deliverables: [{ name: "summary.md", type: "markdown" as const }],
  requiresApproval: true,
};

describe("runs keep their stage settings", () => {
  test("updateStage mid-run changes neither the run's task, KSA policy, QA nor approval; the next run uses the new settings", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: OLD });
    const first = await startRunning(t, cardId, providerHandle);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: NEW });

    const task = (await first.rt.post("task", {})).body.task;
    expect(task.stage).toMatchObject({ name: "Research", allowedKsas: OLD.allowedKsas, prompt: OLD.prompt });
    expect(task.stage.deliverables.map((d: { name: string }) => d.name)).toEqual(["report.md"]);
    // plan is allowed by the run's settings, though the stage no longer allows it.
    expect((await first.rt.post("ksa", { ksa: "plan", fn: "get", args: {} })).status).toBe(200);

    // QA checks the run's deliverables (report.md), not the stage's new ones (summary.md), and the
    // run's requiresApproval (unset), so the card advances instead of waiting for review.
    await first.rt.deliver({ "report.md": "Otters hold hands while sleeping." });
    await until(t, async () => (await getCard(t, cardId)).stageId === stageIds[1]);
    const done = await getRun(t, first.runId);
    expect(done.status).toBe("succeeded");
    expect(done.qa?.checks.map((c) => c.deliverable)).not.toContain("summary.md");
    expect((await getCard(t, cardId)).status).toBe("idle");

    // A new run in the changed stage uses the new settings.
    await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[0] });
    const second = await startRunning(t, cardId, providerHandle);
    const task2 = (await second.rt.post("task", {})).body.task;
    expect(task2.stage).toMatchObject({ allowedKsas: NEW.allowedKsas, prompt: NEW.prompt });
    expect(task2.stage.deliverables.map((d: { name: string }) => d.name)).toEqual(["summary.md"]);
    const plan = await second.rt.post("ksa", { ksa: "plan", fn: "get", args: {} });
    expect(plan.status).toBe(403);
    expect(plan.body.message).toContain("(allowed: file)");
    await second.rt.deliver({ "report.md": "Otters hold hands while sleeping." });
    await until(t, async () => (await runStatus(t, second.runId)) === "failed");
    expect((await getRun(t, second.runId)).qa).toMatchObject({ ok: false, missing: ["summary.md"] });
  });

  test("the copy is its own row, linked both ways, with the list resolved at start (missing = defaults)", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    const { runId } = await startRunning(t, cardId, providerHandle);
    const row = await t.run(async (ctx) => {
      const run = await ctx.db.get(runId as Id<"runs">);
      return run?.settingsId ? await ctx.db.get(run.settingsId) : null;
    });
    expect(row).toMatchObject({
      runId,
      stageName: "Research",
      goals: ["Research the topic"],
      allowedKsas: ["file", "shell", "artifacts", "plan", "pdf"],
      limits: { maxAttempts: 2, maxDurationMs: 3_600_000 },
    });
    // Giving the stage an explicit list later does not reach the run.
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { allowedKsas: [] } });
    const again = await t.run(async (ctx) => await ctx.db.query("runSettings").withIndex("by_run", (q) => q.eq("runId", runId as Id<"runs">)).unique());
    expect(again!.allowedKsas).toEqual(["file", "shell", "artifacts", "plan", "pdf"]);
  });

  test("a run made before runs had their own copy reads its stage's current settings", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await t.run(async (ctx) => await ctx.db.patch(runId as Id<"runs">, { settingsId: undefined }));
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { allowedKsas: ["file"] } });
    expect((await rt.post("task", {})).body.task.stage.allowedKsas).toEqual(["file"]);
  });
});
