/**
 * Step parallelism is the workflow component's runtime setting, not a constant in our code: a value the
 * operator sets (`npx convex run --component lakitu/workflow utils:updateConfig`) survives the next
 * workflow start and is what the workpool runs steps with.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { makeBoard, setup, type T } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";
import { api, components } from "../component/_generated/api.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** The workpool's live setting (what its loop starts work against), and the workflow component's stored one. */
async function parallelism(t: T) {
  // convex-test 0.0.60 has `runInComponent` (a child component's `t.run`) without declaring it.
  const inComponent = (t as unknown as { runInComponent: (path: string, f: (ctx: any) => Promise<unknown>) => Promise<unknown> }).runInComponent;
  const pool = await inComponent("workflow/workpool", async (ctx) => (await ctx.db.query("globals").unique())?.maxParallelism);
  const workflow = await inComponent("workflow", async (ctx) => (await ctx.db.query("config").first())?.maxParallelism ?? null);
  return { pool, workflow };
}

test("without a value in code the workflow default (25) applies, and a runtime setting survives later starts", async () => {
  const { t, providerHandle } = await setup();
  const board = await makeBoard(t);
  await startRunning(t, board.cardId, providerHandle);
  // Not 20 (the constant this replaced): the workflow component's own default.
  expect(await parallelism(t)).toEqual({ pool: 25, workflow: null });

  // What `npx convex run --component lakitu/workflow utils:updateConfig '{"maxParallelism": 60}'` does.
  // (An internal function of the child component: not in the generated types, callable from the CLI and here.)
  const updateConfig = (components.workflow as unknown as { utils: { updateConfig: any } }).utils.updateConfig;
  await t.mutation(updateConfig, { maxParallelism: 60 });
  const second = await t.mutation(api.cards.addCard, { boardId: board.boardId, title: "Second card" });
  await startRunning(t, second, providerHandle);
  // The new run's workflow start and steps used the stored setting instead of overwriting it.
  expect(await parallelism(t)).toEqual({ pool: 60, workflow: 60 });
});
