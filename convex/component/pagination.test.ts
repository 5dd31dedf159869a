/**
 * Every list is a Convex page: `paginationOpts` in, `PaginationResult` out, every item exactly once
 * in order across pages, and pages cut early by bytes when documents are big.
 */
import { describe, expect, test } from "vitest";
import { COMPONENT_EVENT_SEQ_BASE } from "../shared/defaults.js";
import type { PaginationResult } from "convex/server";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { makeBoard, setup, type T } from "../testing/harness.js";
import { PAGE_BYTE_BUDGET } from "../model/pages.js";

type Page<X> = PaginationResult<X> & { pageStatus?: string | null };

/** Pages through `list` with `numItems` per page; returns every page. */
async function pagesOf<X>(list: (opts: { numItems: number; cursor: string | null }) => Promise<Page<X>>, numItems: number): Promise<Page<X>[]> {
  const pages: Page<X>[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page: Page<X> = await list({ numItems, cursor });
    pages.push(page);
    if (page.isDone) return pages;
    expect(pages.length).toBeLessThan(100);
    cursor = page.continueCursor;
  }
}
const items = <X>(pages: Page<X>[]) => pages.flatMap((p) => p.page);

const USAGE = { inputTokens: 0, outputTokens: 0, costUsd: 0, steps: 0 };

/** Inserts a run of the card directly (the lists only read runs). */
async function insertRun(t: T, card: { cardId: string; boardId: string; stageId: string }, attempt: number, status: "queued" | "running" | "failed" = "failed") {
  return await t.run(async (ctx) =>
    ctx.db.insert("runs", {
      cardId: card.cardId as Id<"cards">,
      boardId: card.boardId as Id<"boards">,
      stageId: card.stageId as Id<"stages">,
      attempt,
      generation: attempt,
      status,
      providerHandle: "function://test",
      callbackUrl: "https://example.convex.site/lakitu",
      queuedAt: Date.now(),
      usage: USAGE,
      retriesLeft: 0,
    }),
  );
}

async function insertEvents(t: T, runId: Id<"runs">, n: number, dataBytes = 0) {
  await t.run(async (ctx) => {
    for (let seq = 0; seq < n; seq++) {
      await ctx.db.insert("events", { runId, seq, kind: "log", level: "info", text: `e${seq}`, ts: seq, ...(dataBytes ? { data: JSON.stringify("x".repeat(dataBytes)) } : {}) });
    }
  });
}

async function boardWithCard(t: T) {
  const b = await makeBoard(t);
  return { ...b, card: { cardId: b.cardId, boardId: b.boardId, stageId: b.stageIds[0] } };
}

describe("lists page through every item exactly once, in order", () => {
  test("boards of an owner, newest first", async () => {
    const { t } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await t.mutation(api.boards.createBoard, { name: `B${i}`, owner: "u1", stages: [{ name: "Done", kind: "done" }] })).boardId);
    await t.mutation(api.boards.createBoard, { name: "other", owner: "u2", stages: [{ name: "Done", kind: "done" }] });
    const pages = await pagesOf((paginationOpts) => t.query(api.boards.listBoards, { owner: "u1", paginationOpts }), 3);
    expect(pages.map((p) => p.page.length)).toEqual([3, 3, 1]);
    expect(items(pages).map((b) => b.boardId)).toEqual([...ids].reverse());
  });

  test("cards of a board (by stage, oldest first) and of one stage, as summaries without context", async () => {
    const { t } = await setup();
    const { boardId, stageIds, cardId: first } = await makeBoard(t);
    const inStage: Record<string, string[]> = { [stageIds[0]]: [first], [stageIds[1]]: [] };
    for (let i = 0; i < 9; i++) {
      const stageId = stageIds[i % 2];
      inStage[stageId].push(await t.mutation(api.cards.addCard, { boardId, stageId, title: `C${i}`, description: "d".repeat(2_000), context: { topic: "otters" } }));
    }
    const all = items(await pagesOf((paginationOpts) => t.query(api.cards.listCards, { boardId, paginationOpts }), 4));
    // The index orders by stage (in id order), then by creation.
    const [s0, s1] = stageIds;
    expect([[...inStage[s0], ...inStage[s1]], [...inStage[s1], ...inStage[s0]]]).toContainEqual(all.map((c) => c.cardId));
    const second = await pagesOf((paginationOpts) => t.query(api.cards.listCards, { boardId, stageId: stageIds[1], paginationOpts }), 2);
    expect(second.length).toBe(3);
    expect(items(second).map((c) => c.cardId)).toEqual(inStage[stageIds[1]]);
    const card = all.find((c) => c.cardId !== first)!;
    expect(card).not.toHaveProperty("context");
    expect(card.description!.length).toBeLessThanOrEqual(500);
    expect((await t.query(api.cards.getCard, { cardId: card.cardId }))!.context).toEqual({ topic: "otters" });
  });

  test("runs of a card, newest first, as summaries", async () => {
    const { t } = await setup();
    const { card } = await boardWithCard(t);
    const runIds: string[] = [];
    for (let a = 1; a <= 5; a++) runIds.push(await insertRun(t, card, a));
    const pages = await pagesOf((paginationOpts) => t.query(api.runs.listRuns, { cardId: card.cardId, paginationOpts }), 2);
    expect(pages.length).toBe(3);
    expect(items(pages).map((r) => r.runId)).toEqual([...runIds].reverse());
    expect(items(pages)[0]).not.toHaveProperty("retryContext");
  });

  test("active runs across boards, newest first, whatever their status", async () => {
    const { t } = await setup();
    const a = await boardWithCard(t);
    const b = await boardWithCard(t);
    const active = [await insertRun(t, a.card, 1, "queued"), await insertRun(t, b.card, 1, "running"), await insertRun(t, a.card, 2, "running"), await insertRun(t, b.card, 2, "queued")];
    await insertRun(t, a.card, 3, "failed");
    const pages = await pagesOf((paginationOpts) => t.query(api.runs.listActive, { paginationOpts }), 3);
    expect(pages.length).toBe(2);
    expect(items(pages).map((r) => r.runId)).toEqual([...active].reverse());
  });

  test("transitions of a card, newest first", async () => {
    const { t } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    for (let i = 0; i < 5; i++) await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[(i + 1) % 2], reason: `move ${i}` });
    const pages = await pagesOf((paginationOpts) => t.query(api.runs.listTransitions, { cardId, paginationOpts }), 2);
    expect(pages.length).toBe(3);
    expect(items(pages).map((r) => r.reason)).toEqual(["move 4", "move 3", "move 2", "move 1", "move 0"]);
  });

  test("artifacts of a run (by name, then version) and of a card (oldest first)", async () => {
    const { t } = await setup();
    const { card } = await boardWithCard(t);
    const run1 = await insertRun(t, card, 1);
    const run2 = await insertRun(t, card, 2);
    const names = ["b.md", "a.md", "c.md", "a.md"];
    const inserted = await t.run(async (ctx) => {
      const storageId = await ctx.storage.store(new Blob(["x"]));
      const ids: string[] = [];
      for (const [i, name] of names.entries()) {
        const runId = i === 3 ? run2 : run1;
        const version = 1;
        ids.push(
          await ctx.db.insert("artifacts", {
            runId, cardId: card.cardId as Id<"cards">, stageId: card.stageId as Id<"stages">, name, type: "markdown", contentType: "text/markdown",
            size: 1, sha256: "0".repeat(64), storageId, version, superseded: false, review: "pending",
          }),
        );
      }
      return ids;
    });
    const ofRun = items(await pagesOf((paginationOpts) => t.query(api.artifacts.listArtifacts, { runId: run1, paginationOpts }), 2));
    expect(ofRun.map((a) => a.name)).toEqual(["a.md", "b.md", "c.md"]);
    const ofCard = await pagesOf((paginationOpts) => t.query(api.artifacts.listArtifacts, { cardId: card.cardId, paginationOpts }), 3);
    expect(ofCard.length).toBe(2);
    expect(items(ofCard).map((a) => a.artifactId)).toEqual(inserted);
  });

  test("events forward from a seq, and the latest N paging back", async () => {
    const { t } = await setup();
    const { card } = await boardWithCard(t);
    const runId = await insertRun(t, card, 1);
    await insertEvents(t, runId, 10);
    const all = await pagesOf((paginationOpts) => t.query(api.events.listEvents, { runId, paginationOpts }), 4);
    expect(all.length).toBe(3);
    expect(items(all).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const after = await pagesOf((paginationOpts) => t.query(api.events.listEvents, { runId, afterSeq: 4, paginationOpts }), 2);
    expect(after.length).toBe(3);
    expect(items(after).map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    const latest = await t.query(api.events.latestEvents, { runId, paginationOpts: { numItems: 3, cursor: null } });
    expect(latest.page.map((e) => e.seq)).toEqual([9, 8, 7]);
    const back = await pagesOf((paginationOpts) => t.query(api.events.latestEvents, { runId, paginationOpts }), 3);
    expect(items(back).map((e) => e.seq)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    // A subscribed first page grows with new events until it holds numItems.
    const live = await t.query(api.events.listEvents, { runId, afterSeq: 9, paginationOpts: { numItems: 5, cursor: null } });
    expect(live).toMatchObject({ page: [], isDone: true });
    await t.run(async (ctx) => {
      await ctx.db.insert("events", { runId, seq: 10, kind: "log", level: "info", text: "e10", ts: 10 });
    });
    expect((await t.query(api.events.listEvents, { runId, afterSeq: 9, paginationOpts: { numItems: 5, cursor: null } })).page.map((e) => e.seq)).toEqual([10]);
    // The component's own events (seqs from COMPONENT_EVENT_SEQ_BASE) can be followed past too.
    await t.run(async (ctx) => {
      for (const k of [0, 1]) await ctx.db.insert("events", { runId, seq: COMPONENT_EVENT_SEQ_BASE + k, kind: "budget_exceeded", level: "warn", text: `c${k}`, ts: 11 + k });
    });
    const pastFirst = await t.query(api.events.listEvents, { runId, afterSeq: COMPONENT_EVENT_SEQ_BASE, paginationOpts: { numItems: 5, cursor: null } });
    expect(pastFirst.page.map((e) => e.seq)).toEqual([COMPONENT_EVENT_SEQ_BASE + 1]);
  });

  test("model turns of a run, in step order", async () => {
    const { t } = await setup();
    const { card } = await boardWithCard(t);
    const runId = await insertRun(t, card, 1);
    await t.run(async (ctx) => {
      for (let step = 0; step < 5; step++) {
        await ctx.db.insert("turns", { runId, cardId: card.cardId as Id<"cards">, step, model: "scripted", status: "settled", reservedUsd: 0, promptChars: 1, reservedAt: step, reply: "r".repeat(10) });
      }
    });
    const pages = await pagesOf((paginationOpts) => t.query(api.usage.listTurns, { runId, paginationOpts }), 2);
    expect(pages.length).toBe(3);
    expect(items(pages).map((x) => x.step)).toEqual([0, 1, 2, 3, 4]);
    expect(items(pages)[0]).not.toHaveProperty("reply");
  });
});

describe("pages are bounded by bytes as well as by count", () => {
  test("cards near the document limit: a page stops early past the byte budget and the next pages bring the rest", async () => {
    const { t } = await setup();
    const { boardId, cardId: first } = await makeBoard(t);
    // ~900 KB per card (written directly: addCard caps context now, but older cards and their plans
    // can be this big): 10 of them are ~9 MB, more than the budget allows in one page.
    const context = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`v${i}`, "c".repeat(10_000)]));
    const ids = [first];
    const stageId = (await t.query(api.cards.getCard, { cardId: first }))!.stageId;
    for (let i = 0; i < 10; i++) {
      ids.push(await t.run(async (ctx) => ctx.db.insert("cards", { boardId: boardId as Id<"boards">, stageId: stageId as Id<"stages">, title: `Big ${i}`, context, status: "idle", generation: 0 })));
    }
    const pages = await pagesOf((paginationOpts) => t.query(api.cards.listCards, { boardId, paginationOpts }), 100);
    const cut = pages[0];
    expect(cut.isDone).toBe(false);
    expect(cut.pageStatus).toBe("SplitRequired");
    expect(cut.page.length).toBeLessThan(ids.length);
    expect(cut.page.length).toBeLessThanOrEqual(Math.ceil(PAGE_BYTE_BUDGET / 900_000) + 1);
    // Every card exactly once, in order, and each page returns small summaries, not the documents it read.
    expect(items(pages).map((c) => c.cardId)).toEqual(ids);
    for (const p of pages) expect(JSON.stringify(p).length).toBeLessThan(64 * 1024);
  });

  test("events with big data: a page of 1000 stops near the budget, and paging still returns each event once", async () => {
    const { t } = await setup();
    const { card } = await boardWithCard(t);
    const runId = await insertRun(t, card, 1);
    await insertEvents(t, runId, 120, 60_000); // ~7 MB of events
    const pages = await pagesOf((paginationOpts) => t.query(api.events.listEvents, { runId, paginationOpts }), 1000);
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) expect(JSON.stringify(p.page).length).toBeLessThan(PAGE_BYTE_BUDGET + 100_000);
    expect(items(pages).map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    const back = await pagesOf((paginationOpts) => t.query(api.events.latestEvents, { runId, paginationOpts }), 1000);
    expect(back.length).toBeGreaterThan(1);
    expect(items(back).map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => 119 - i));
  });

  test("a caller's own smaller byte or row bound is kept; a larger one is capped at the budget", async () => {
    const { t } = await setup();
    const { card } = await boardWithCard(t);
    const runId = await insertRun(t, card, 1);
    await insertEvents(t, runId, 120, 60_000);
    const small = await t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 1000, cursor: null, maximumBytesRead: 200_000 } });
    expect(small.page.length).toBeLessThanOrEqual(4);
    const rows = await t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 1000, cursor: null, maximumRowsRead: 5 } });
    expect(rows.page.length).toBe(5);
    const huge = await t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 1000, cursor: null, maximumBytesRead: 1e12 } });
    expect(huge.isDone).toBe(false);
    expect(JSON.stringify(huge.page).length).toBeLessThan(PAGE_BYTE_BUDGET + 100_000);
  });
});
