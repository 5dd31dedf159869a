/**
 * Deleting cards and boards: a live run is canceled first (sandbox killed, token refused), then every
 * row and stored byte of the card goes in bounded scheduled steps that resume after an interruption.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { DELETE_BATCH } from "../shared/defaults.js";
import { advance, makeBoard, setup, until } from "../testing/harness.js";
import { getRun, runCard, startRunning, tokenRefused, workflowStatus } from "../testing/runHelpers.js";
import { NOTHING, addThreadAndTurn, blobsOf, leftovers } from "../testing/leftovers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const REPORT = "# Report\n\nOtters are great swimmers.";

describe("deleteCard", () => {
  test("mid-run: the run is canceled, the sandbox killed, the token refused, and nothing of the card remains", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, workflowId, rt } = await startRunning(t, cardId, providerHandle);
    expect((await rt.events(["one", "two"])).status).toBe(200);
    expect((await rt.upload("report.md", REPORT)).status).toBe(200);
    expect((await rt.upload("report.md", `${REPORT}\nMore.`)).status).toBe(200);
    await t.mutation(api.inbox.sendMessage, { runId, text: "focus on rivers" });
    // A plan the agent made (its own table): it goes with the card too.
    expect((await rt.post("ksa", { ksa: "plan", fn: "add", args: { title: "map the rivers" } })).status).toBe(200);
    expect(await t.run(async (ctx) => (await ctx.db.query("planTasks").collect()).length)).toBe(1);
    const threadId = await addThreadAndTurn(t, cardId, runId);
    const blobs = await blobsOf(t, cardId);
    expect(blobs).toHaveLength(2);
    expect(provider.alive()).toHaveLength(1);

    expect(await t.mutation(api.lifecycle.deleteCard, { cardId })).toEqual({ started: true });
    // Canceled in the delete's own transaction: the token is refused at once.
    expect((await getRun(t, runId)).status).toBe("canceled");
    expect(await tokenRefused(rt)).toBe(true);
    expect((await t.query(api.cards.getCard, { cardId }))?.deleting).toBe(true);
    // A second delete is a no-op; nothing may run or change the card meanwhile.
    expect(await t.mutation(api.lifecycle.deleteCard, { cardId })).toEqual({ started: false });
    await expect(runCard(t, cardId, providerHandle)).rejects.toThrow(/being deleted/);
    await expect(t.mutation(api.lifecycle.updateCard, { cardId, title: "x" })).rejects.toThrow(/being deleted/);

    await until(t, async () => (await t.query(api.cards.getCard, { cardId })) === null);
    await advance(t, 2_000); // the agent component's own thread batches
    expect(provider.alive()).toEqual([]);
    expect(await leftovers(t, [cardId], blobs, [threadId])).toEqual(NOTHING);
    // The workflow journal is gone too.
    await expect(workflowStatus(t, workflowId)).rejects.toThrow(/not found/i);
  });

  test("an interrupted deletion resumes: each step deletes at most DELETE_BATCH documents and a re-run continues", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId } = await startRunning(t, cardId, providerHandle);
    await t.mutation(api.runs.stopCard, { cardId });
    await advance(t, 1_000);
    expect(provider.alive()).toEqual([]);
    const extra = DELETE_BATCH * 2 + 50;
    await t.run(async (ctx) => {
      for (let seq = 0; seq < extra; seq++) await ctx.db.insert("events", { runId: runId as Id<"runs">, seq, kind: "log", level: "info", text: `e${seq}`, ts: 0 });
    });
    const events = async () => (await leftovers(t, [cardId])).events;
    // The delete marks the card; its scheduled step has not run yet (no time passed): run the steps by hand,
    // as a restart would re-run them.
    await t.mutation(api.lifecycle.deleteCard, { cardId });
    expect(await t.mutation(internal.lifecycle.purgeCard, { cardId: cardId as Id<"cards"> })).toBe("more");
    expect(await events()).toBe(extra - DELETE_BATCH);
    expect(await t.mutation(internal.lifecycle.purgeCard, { cardId: cardId as Id<"cards"> })).toBe("more");
    expect(await events()).toBe(extra - 2 * DELETE_BATCH);
    let steps = 2;
    while ((await t.mutation(internal.lifecycle.purgeCard, { cardId: cardId as Id<"cards"> })) !== "done") steps++;
    expect(steps).toBeLessThan(10);
    expect(await leftovers(t, [cardId])).toEqual(NOTHING);
    // The steps scheduled along the way find nothing left and end.
    await advance(t, 10_000, 500);
    expect(await t.mutation(internal.lifecycle.purgeCard, { cardId: cardId as Id<"cards"> })).toBe("done");
  });

  test("a card waiting for review is stopped and deleted", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t, { requiresApproval: true });
    const { rt } = await startRunning(t, cardId, providerHandle);
    await rt.deliver({ "report.md": REPORT });
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "awaiting_review");
    await t.mutation(api.lifecycle.deleteCard, { cardId });
    await until(t, async () => (await t.query(api.cards.getCard, { cardId })) === null);
    expect(await leftovers(t, [cardId])).toEqual(NOTHING);
  });
});

describe("deleteBoard", () => {
  test("cancels every live run, then removes cards, stages and the board", async () => {
    const { t, providerHandle, provider } = await setup();
    const { boardId, cardId, stageIds } = await makeBoard(t);
    const other = await t.mutation(api.cards.addCard, { boardId, title: "Second" });
    const { rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", REPORT);
    const blobs = await blobsOf(t, cardId);
    expect(await t.mutation(api.lifecycle.deleteBoard, { boardId })).toEqual({ started: true });
    expect(await t.mutation(api.lifecycle.deleteBoard, { boardId })).toEqual({ started: false });
    await expect(t.mutation(api.cards.addCard, { boardId, title: "late" })).rejects.toThrow(/being deleted/);
    await until(t, async () => (await t.query(api.boards.getBoard, { boardId })) === null);
    expect(provider.alive()).toEqual([]);
    expect(await tokenRefused(rt)).toBe(true);
    expect(await leftovers(t, [cardId, other], blobs)).toEqual(NOTHING);
    const stagesLeft = await t.run(async (ctx) => (await ctx.db.query("stages").collect()).filter((s) => stageIds.includes(s._id)).length);
    expect(stagesLeft).toBe(0);
  });
});
