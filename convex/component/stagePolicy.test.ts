/**
 * "Policy says what it means": `allowedKsas: []` allows no KSA, a missing list allows the defaults,
 * and names that are neither built-ins nor the app's own KSAs are refused when a stage is written
 * (createBoard, addStage, updateStage), with the field's path and the known names. Stored stages are
 * never re-checked on read.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { makeBoard, setup, type T } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";
import type { StageInput } from "../shared/validators.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const agent = (name: string, extra: Partial<StageInput> = {}): StageInput => ({ name, kind: "agent", goals: ["g"], ...extra });

async function refused(p: Promise<unknown>, code: string): Promise<string> {
  const error = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { data?: { code: string; message: string } } | undefined;
  expect(error, `expected a ${code} error`).toBeDefined();
  expect(error!.data?.code).toBe(code);
  return error!.data!.message;
}

async function stageCount(t: T) {
  return await t.run(async (ctx) => (await ctx.db.query("stages").collect()).length);
}

describe("unknown KSA names are refused when a stage is written", () => {
  test("createBoard names the field by its path, lists every known name, and writes nothing", async () => {
    const { t } = await setup();
    const message = await refused(
      t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A", { allowedKsas: ["file"] }), agent("B", { allowedKsas: ["rm", "file", "shel"] })] }),
      "invalid_argument",
    );
    expect(message).toContain('stages[1].allowedKsas[0] "rm" is not a known KSA (nor "shel")');
    expect(message).toContain("known: file, shell, artifacts, plan, pdf, web");
    expect(await t.run(async (ctx) => (await ctx.db.query("boards").collect()).length)).toBe(0);
    expect(await stageCount(t)).toBe(0);
  });

  test("addStage and updateStage refuse them too, naming stage / patch", async () => {
    const { t } = await setup();
    const { boardId, stageIds } = await makeBoard(t);
    const before = await stageCount(t);
    expect(await refused(t.mutation(api.boards.addStage, { boardId, stage: agent("QA", { allowedKsas: ["file", "rm"] }) }), "invalid_argument")).toMatch(
      /^stage\.allowedKsas\[1\] "rm" is not a known KSA; known: file, shell, artifacts, plan, pdf, web\./,
    );
    expect(await stageCount(t)).toBe(before);
    expect(await refused(t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { allowedKsas: ["files"] } }), "invalid_argument")).toContain(
      'patch.allowedKsas[0] "files" is not a known KSA',
    );
    const stage = await t.run(async (ctx) => await ctx.db.get(stageIds[0] as Id<"stages">));
    expect(stage!.allowedKsas).toBeUndefined();
  });

  test("the app's KSAs are known when passed with the write (the client's ksas option) or pinned in config", async () => {
    const { t } = await setup();
    const message = await refused(t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A", { allowedKsas: ["slug"] })] }), "invalid_argument");
    expect(message).toContain('stages[0].allowedKsas[0] "slug" is not a known KSA');
    const { boardId } = await t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A", { allowedKsas: ["slug", "file"] })], appKsas: ["slug"] });
    // Listed among the known names once the app declares them.
    const listed = await refused(t.mutation(api.boards.addStage, { boardId, stage: agent("C", { allowedKsas: ["nope"] }), appKsas: ["slug", "tidy"] }), "invalid_argument");
    expect(listed).toContain("known: file, shell, artifacts, plan, pdf, web, slug, tidy");
    // Pinned by `lakitu publish`: no need to pass them.
    await t.mutation(api.config.configure, { appKsas: ["tidy"] });
    expect((await t.query(api.config.getConfig, {})).appKsas).toEqual(["tidy"]);
    await t.mutation(api.boards.addStage, { boardId, stage: agent("D", { allowedKsas: ["tidy"] }) });
  });

  test("app KSA names must be names, in the argument and in config", async () => {
    const { t } = await setup();
    expect(await refused(t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A")], appKsas: ["ok", "Bad Name"] }), "invalid_argument")).toContain(
      'appKsas[1] "Bad Name" is not a KSA name',
    );
    expect(await refused(t.mutation(api.config.configure, { appKsas: ["../x"] }), "invalid_argument")).toContain('appKsas[0] "../x" is not a KSA name');
  });

  test("a stored stage that names an unknown KSA still reads, and other fields can still change", async () => {
    const { t } = await setup();
    const { stageIds, boardId } = await makeBoard(t);
    await t.run(async (ctx) => await ctx.db.patch(stageIds[0] as Id<"stages">, { allowedKsas: ["file", "legacy"] }));
    const board = await t.query(api.boards.getBoard, { boardId });
    expect(board!.stages[0].allowedKsas).toEqual(["file", "legacy"]);
    const updated = await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { prompt: "Be brief." } });
    expect(updated).toMatchObject({ prompt: "Be brief.", allowedKsas: ["file", "legacy"] });
  });
});

describe("allowedKsas means what it says", () => {
  test("[] allows no KSA: the task lists none and a server-side KSA is forbidden", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { allowedKsas: [] } });
    const { rt } = await startRunning(t, cardId, providerHandle);
    const task = await rt.post("task", {});
    expect(task.body.task.stage.allowedKsas).toEqual([]);
    const plan = await rt.post("ksa", { ksa: "plan", fn: "get", args: {} });
    expect(plan.status).toBe(403);
    expect(plan.body.message).toContain('KSA "plan" is not allowed in stage "Research" (allowed: none)');
  });

  test("a missing list allows the documented defaults (not web)", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { rt } = await startRunning(t, cardId, providerHandle);
    const task = await rt.post("task", {});
    expect(task.body.task.stage.allowedKsas).toEqual(["file", "shell", "artifacts", "plan", "pdf"]);
    expect((await rt.post("ksa", { ksa: "plan", fn: "get", args: {} })).status).toBe(200);
  });
});
