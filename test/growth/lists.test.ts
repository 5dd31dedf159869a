/**
 * Growth at realistic sizes, under the limits harness: every list of a busy card, page by page.
 * One real run provides a document of each kind; copies of it grow each list to a size a long-lived
 * card reaches (runs, transitions, artifact versions, live runs).
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import type { Id, TableNames } from "../../convex/component/_generated/dataModel.js";
import { makeBoard, setup, type T } from "../../convex/testing/harness.js";
import { listAll } from "../../convex/testing/listAll.js";
import { startRunning } from "../../convex/testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Inserts `count` copies of `doc` (system fields dropped), each changed by `vary(i)`. */
async function copies(t: T, table: TableNames, id: string, count: number, vary: (i: number) => Record<string, unknown> = () => ({})) {
  await t.run(async (ctx) => {
    const { _id, _creationTime, ...doc } = (await ctx.db.get(id as Id<typeof table>)) as Record<string, unknown>;
    for (let i = 0; i < count; i++) await ctx.db.insert(table, { ...doc, ...vary(i) } as never);
  });
}

test("every list of a busy card pages through all of it within the limits", async () => {
  const { t, providerHandle, limits } = await setup();
  const { cardId } = await makeBoard(t);
  const { runId, rt } = await startRunning(t, cardId, providerHandle);
  expect((await rt.upload("report.md", `# Report\n\n${"A paragraph of findings. ".repeat(200)}`)).status).toBe(200);

  const [transition] = await listAll(t, api.runs.listTransitions, { cardId }, 1);
  const transitionId = await t.run(async (ctx) => (await ctx.db.query("transitions").first())!._id);
  const artifactId = await t.run(async (ctx) => (await ctx.db.query("artifacts").first())!._id);
  expect(transition).toBeDefined();
  // 500 runs of the card (all live, so listActive has 500 too), 3,000 transitions, 1,000 versions.
  await copies(t, "runs", runId, 499, (i) => ({ attempt: i + 2 }));
  await copies(t, "transitions", transitionId, 3_000, (i) => ({ reason: `transition ${i}: ${"because ".repeat(10)}` }));
  await copies(t, "artifacts", artifactId, 999, (i) => ({ version: i + 2, superseded: i < 998 }));
  await t.run(async (ctx) => ctx.db.patch(artifactId, { superseded: true }));

  const counts = async () => ({
    runs: (await listAll(t, api.runs.listRuns, { cardId }, 200)).length,
    active: (await listAll(t, api.runs.listActive, {}, 200)).length,
    transitions: (await listAll(t, api.runs.listTransitions, { cardId }, 1_000)).length,
    artifactsOfRun: (await listAll(t, api.artifacts.listArtifacts, { runId }, 500)).length,
    artifactsOfCard: (await listAll(t, api.artifacts.listArtifacts, { cardId }, 500)).length,
    turns: (await listAll(t, api.usage.listTurns, { runId }, 200)).length,
  });
  const transitionsBefore = await t.run(async (ctx) => (await ctx.db.query("transitions").collect()).length);
  expect(await counts()).toMatchObject({ runs: 500, active: 500, transitions: transitionsBefore, artifactsOfRun: 1_000, artifactsOfCard: 1_000 });
  expect(limits.violations).toEqual([]);
});
