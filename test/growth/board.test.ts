/**
 * Growth at realistic sizes, under the limits harness (convex/testing/harness.ts `setup` checks every
 * function against Convex's Cloud limits and fails the test on a violation): a board with 1,000
 * cards and an app with 250 boards, listed page by page.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import { makeBoard, setup } from "../../convex/testing/harness.js";
import { listAll } from "../../convex/testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test("a board with 1,000 cards: every card is listed once, by board and by stage, within the limits", async () => {
  const { t, limits } = await setup();
  const { boardId, stageIds } = await makeBoard(t);
  // Realistic cards: a paragraph of description and ~24 KiB of context each, so the board's cards
  // weigh ~24 MiB together: any read of them all in one transaction would cross the 16 MiB limit.
  const description = "Research the topic and write a short report. ".repeat(20);
  const context = { brief: "b".repeat(8_000), notes: "n".repeat(8_000), sources: "s".repeat(8_000) };
  for (let i = 1; i < 1_000; i++) await t.mutation(api.cards.addCard, { boardId, title: `card ${i}`, description, context });

  const cards = await listAll(t, api.cards.listCards, { boardId }, 200);
  expect(cards).toHaveLength(1_000);
  expect(new Set(cards.map((c) => c.cardId)).size).toBe(1_000);
  const inFirstStage = await listAll(t, api.cards.listCards, { boardId, stageId: stageIds[0] }, 200);
  expect(inFirstStage).toHaveLength(1_000);
  expect(await t.query(api.boards.getBoard, { boardId })).not.toBeNull();
  expect(limits.violations).toEqual([]);
});

test("250 boards: every board is listed once, within the limits", async () => {
  const { t, limits } = await setup();
  for (let i = 0; i < 250; i++) {
    await t.mutation(api.boards.createBoard, { name: `board ${i}`, stages: [{ name: "Inbox", kind: "human" }, { name: "Done", kind: "done" }] });
  }
  const boards = await listAll(t, api.boards.listBoards, {}, 100);
  expect(boards).toHaveLength(250);
  expect(new Set(boards.map((b) => b.boardId)).size).toBe(250);
  expect(limits.violations).toEqual([]);
});
