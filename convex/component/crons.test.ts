/**
 * The component schedules its own reaper: the job exists, runs every minute, and the function it
 * names is the reaper (run here by that name, it ends an idle run and kills its sandbox).
 */
import { makeFunctionReference } from "convex/server";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import crons from "./crons.js";
import { api } from "./_generated/api.js";
import { advance, makeBoard, setup } from "../testing/harness.js";
import { getRun, startRunning } from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test("the component's cron runs the reaper every minute", async () => {
  const job = crons.crons["lakitu reaper"];
  expect(job).toMatchObject({ schedule: { type: "interval", minutes: 1 }, args: [{}] });

  const { t, providerHandle, provider } = await setup();
  const { cardId, stageIds } = await makeBoard(t);
  await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 1, idleTimeoutMs: 5_000 } } });
  const { runId } = await startRunning(t, cardId, providerHandle);
  await advance(t, 6_000);
  // What the cron calls, by the name it stores.
  const result = await t.mutation(makeFunctionReference<"mutation">(job.name), (job.args as Array<Record<string, never>>)[0]);
  expect(result).toMatchObject({ idle: 1 });
  await advance(t, 1_000);
  expect((await getRun(t, runId)).error?.code).toBe("idle_timeout");
  expect(provider.alive()).toEqual([]);
});
