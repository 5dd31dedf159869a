/** Editing and archiving cards; renaming, reordering and removing stages. */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { MAX_CONTEXT_BYTES } from "../shared/defaults.js";
import { isLakituError } from "../shared/errors.js";
import { makeBoard, setup, type T } from "../testing/harness.js";
import { getCard, runCard, startRunning } from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** The Lakitu error code and message a call was refused with. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isLakituError(e)) return e.data;
    throw e;
  }
  throw new Error("expected a refusal");
}

async function stageNames(t: T, boardId: string) {
  return (await t.query(api.boards.getBoard, { boardId }))!.stages.map((s) => `${s.position}:${s.name}`);
}

describe("cards", () => {
  test("updateCard changes only the given fields; null clears", async () => {
    const { t } = await setup();
    const { cardId } = await makeBoard(t);
    await t.mutation(api.lifecycle.updateCard, { cardId, description: "about otters", context: { TOPIC: "otters" } });
    const card = await t.mutation(api.lifecycle.updateCard, { cardId, title: "  Otters, revised " });
    expect(card).toMatchObject({ title: "Otters, revised", description: "about otters", context: { TOPIC: "otters" } });
    const cleared = await t.mutation(api.lifecycle.updateCard, { cardId, description: null, context: null });
    expect(cleared.description).toBeUndefined();
    expect(cleared.context).toBeUndefined();
    expect(cleared.title).toBe("Otters, revised");
  });

  test("context over 64 KiB is refused naming the field, the size and the limit; nothing changes", async () => {
    const { t } = await setup();
    const { boardId, cardId } = await makeBoard(t);
    // 8 variables of 9,000 characters: each under its own cap, together over the byte cap.
    const big = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`V${i}`, "é".repeat(4_500)]));
    const r = await refusal(t.mutation(api.lifecycle.updateCard, { cardId, context: big }));
    expect(r.code).toBe("too_large");
    expect(r.message).toMatch(new RegExp(`^context is \\d+ bytes as UTF-8 JSON; the limit is ${MAX_CONTEXT_BYTES} bytes`));
    expect((await getCard(t, cardId)).context).toBeUndefined();
    const r2 = await refusal(t.mutation(api.cards.addCard, { boardId, title: "big", context: big }));
    expect(r2.code).toBe("too_large");
    const r3 = await refusal(t.mutation(api.lifecycle.updateCard, { cardId, title: "  " }));
    expect(r3).toMatchObject({ code: "invalid_argument", message: "title must not be empty" });
  });

  test("an archived card refuses runs until restored, and is refused while the card runs", async () => {
    const { t, providerHandle } = await setup();
    const { boardId, cardId } = await makeBoard(t);
    const archived = await t.mutation(api.lifecycle.archiveCard, { cardId });
    expect(archived.archivedAt).toBeTypeOf("number");
    expect((await refusal(runCard(t, cardId, providerHandle))).message).toMatch(/archived; restore it/);
    const restored = await t.mutation(api.lifecycle.restoreCard, { cardId });
    expect(restored.archivedAt).toBeUndefined();
    // listCards leaves archived cards out (by board, and by board and stage) unless asked for them.
    const paginationOpts = { numItems: 50, cursor: null };
    const stageId = (await t.query(api.cards.getCard, { cardId }))!.stageId;
    const listed = async () => ({
      board: (await t.query(api.cards.listCards, { boardId, paginationOpts })).page.length,
      stage: (await t.query(api.cards.listCards, { boardId, stageId, paginationOpts })).page.length,
      all: (await t.query(api.cards.listCards, { boardId, includeArchived: true, paginationOpts })).page.map((c) => c.archivedAt !== undefined),
    });
    await t.mutation(api.lifecycle.archiveCard, { cardId });
    expect(await listed()).toEqual({ board: 0, stage: 0, all: [true] });
    await t.mutation(api.lifecycle.restoreCard, { cardId });
    expect(await listed()).toEqual({ board: 1, stage: 1, all: [false] });
    const other = await t.mutation(api.cards.addCard, { boardId, title: "busy" });
    await startRunning(t, other, providerHandle);
    const r = await refusal(t.mutation(api.lifecycle.archiveCard, { cardId: other }));
    expect(r.code).toBe("conflict");
    expect(r.message).toMatch(/stop it \(stopCard\) before archiving/);
  });
});

describe("stages", () => {
  test("rename (updateStage) and reorder", async () => {
    const { t } = await setup();
    const { boardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[1], patch: { name: "Write" } });
    const stages = await t.mutation(api.lifecycle.reorderStages, { boardId, stageIds: [stageIds[1], stageIds[0], stageIds[2]] });
    expect(stages.map((s) => s.name)).toEqual(["Write", "Research", "Done"]);
    expect(await stageNames(t, boardId)).toEqual(["0:Write", "1:Research", "2:Done"]);
  });

  test("reorder refuses a list that is not every stage exactly once, naming what is wrong", async () => {
    const { t } = await setup();
    const { boardId, stageIds } = await makeBoard(t);
    const { boardId: otherBoard, stageIds: foreign } = await makeBoard(t);
    void otherBoard;
    const missing = await refusal(t.mutation(api.lifecycle.reorderStages, { boardId, stageIds: [stageIds[0], stageIds[1]] }));
    expect(missing).toMatchObject({ code: "invalid_argument" });
    expect(missing.message).toMatch(/stageIds must list each of the board's 3 stages exactly once; missing: "Done"/);
    const twice = await refusal(t.mutation(api.lifecycle.reorderStages, { boardId, stageIds: [stageIds[0], stageIds[0], stageIds[1], stageIds[2]] }));
    expect(twice.message).toMatch(/appear twice/);
    const alien = await refusal(t.mutation(api.lifecycle.reorderStages, { boardId, stageIds: [stageIds[0], stageIds[1], foreign[2]] }));
    expect(alien.message).toContain(`not stages of board ${boardId}: ${foreign[2]}`);
    expect(await stageNames(t, boardId)).toEqual(["0:Research", "1:Draft", "2:Done"]);
  });

  test("remove refuses a stage with cards (archived too) and the last stage; otherwise later stages move up", async () => {
    const { t } = await setup();
    const { boardId, cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.lifecycle.archiveCard, { cardId });
    const busy = await refusal(t.mutation(api.lifecycle.removeStage, { stageId: stageIds[0] }));
    expect(busy.code).toBe("conflict");
    expect(busy.message).toMatch(/stage "Research" still has cards \(e\.g\. .+, idle, archived\); move them to another stage \(moveCard\) or delete them/);
    await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[2] });
    await t.mutation(api.lifecycle.removeStage, { stageId: stageIds[0] });
    expect(await stageNames(t, boardId)).toEqual(["0:Draft", "1:Done"]);
    await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[1] });
    await t.mutation(api.lifecycle.removeStage, { stageId: stageIds[2] });
    await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[1] });
    const last = await refusal(t.mutation(api.lifecycle.removeStage, { stageId: stageIds[1] }));
    expect(last.message).toMatch(/only stage of board/);
  });
});
