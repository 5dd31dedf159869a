/**
 * What a deleted card or board may leave behind, read straight from the tables (test-only: full scans).
 * Used by the lifecycle tests and the fault suite's deletion invariant.
 */
import { createThread, saveMessage } from "@convex-dev/agent";
import { components } from "../component/_generated/api.js";
import type { Id } from "../component/_generated/dataModel.js";
import type { T } from "./harness.js";

export type Leftovers = {
  cards: number;
  runs: number;
  sessions: number;
  liveTokens: number;
  events: number;
  artifacts: number;
  blobs: number;
  transitions: number;
  inbox: number;
  turns: number;
  runSettings: number;
  planTasks: number;
  threads: number;
};

/**
 * Counts rows still tied to `cardIds` (or their runs), the stored blobs named by `storageIds`, and the
 * agent threads named by `threadIds`.
 */
export async function leftovers(t: T, cardIds: string[], storageIds: string[] = [], threadIds: string[] = []): Promise<Leftovers> {
  return await t.run(async (ctx) => {
    const cards = new Set(cardIds);
    const runs = (await ctx.db.query("runs").collect()).filter((r) => cards.has(r.cardId));
    const runIds = new Set<string>(runs.map((r) => r._id));
    const all = async (table: "events" | "inbox" | "runSettings") =>
      (await ctx.db.query(table).collect()).filter((d) => runIds.has(d.runId)).length;
    const sessions = (await ctx.db.query("sessions").collect()).filter((s) => cards.has(s.cardId));
    let blobs = 0;
    for (const id of storageIds) if (await ctx.db.system.get(id as Id<"_storage">)) blobs++;
    let threads = 0;
    for (const threadId of threadIds) if (await ctx.runQuery(components.agent.threads.getThread, { threadId })) threads++;
    return {
      cards: (await ctx.db.query("cards").collect()).filter((c) => cards.has(c._id)).length,
      runs: runs.length,
      sessions: sessions.length,
      liveTokens: sessions.filter((s) => s.tokenHash !== undefined).length,
      events: await all("events"),
      artifacts: (await ctx.db.query("artifacts").collect()).filter((a) => cards.has(a.cardId)).length,
      blobs,
      transitions: (await ctx.db.query("transitions").collect()).filter((x) => cards.has(x.cardId)).length,
      inbox: await all("inbox"),
      turns: (await ctx.db.query("turns").collect()).filter((x) => cards.has(x.cardId)).length,
      runSettings: await all("runSettings"),
      planTasks: (await ctx.db.query("planTasks").collect()).filter((x) => cards.has(x.cardId)).length,
      threads,
    };
  });
}

export const NOTHING: Leftovers = {
  cards: 0, runs: 0, sessions: 0, liveTokens: 0, events: 0, artifacts: 0, blobs: 0, transitions: 0, inbox: 0, turns: 0, runSettings: 0, planTasks: 0, threads: 0,
};

/** The stored blobs of a card's artifacts (to check later that they are gone). */
export async function blobsOf(t: T, cardId: string): Promise<string[]> {
  return await t.run(async (ctx) =>
    (await ctx.db.query("artifacts").withIndex("by_card", (q) => q.eq("cardId", cardId as Id<"cards">)).collect()).map((a) => a.storageId as string),
  );
}

/** Gives the card an agent thread with one message, and its run a settled turn (what model turns leave). */
export async function addThreadAndTurn(t: T, cardId: string, runId: string): Promise<string> {
  return await t.run(async (ctx) => {
    const threadId = await createThread(ctx, components.agent, { title: "test" });
    await saveMessage(ctx, components.agent, { threadId, prompt: "hello" });
    await ctx.db.patch(cardId as Id<"cards">, { threadId });
    await ctx.db.insert("turns", {
      runId: runId as Id<"runs">,
      cardId: cardId as Id<"cards">,
      step: 1,
      model: "scripted",
      status: "settled",
      reservedUsd: 0,
      promptChars: 5,
      reservedAt: Date.now(),
    });
    return threadId;
  });
}
