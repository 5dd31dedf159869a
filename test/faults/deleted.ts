/**
 * Invariant 9, `deleted`: a card deleted during the scenario (lifecycle.deleteCard, or its board's
 * delete) leaves nothing behind once its deletion settled: no card row, no sandbox alive with its
 * `lakitu.card` metadata, no session of it holding a token, no row of it in runs, sessions, events,
 * inbox, artifacts, transitions, turns or runSettings, and no stored file that no artifact row names
 * (the deleted card's bytes would be such orphans).
 */
import type { Doc, Id } from "../../convex/component/_generated/dataModel.js";

type TLike = { run<R>(f: (ctx: any) => Promise<R>): Promise<R> };
type Live = Array<{ sandboxId: string; metadata: Record<string, string> }>;

export type DeletedData = {
  cards: Array<{ cardId: string; exists: boolean; rows: Record<string, number>; liveTokens: number }>;
  orphanBlobs: string[];
};

export async function loadDeleted(t: TLike, cardIds: string[]): Promise<DeletedData> {
  return await t.run(async (ctx) => {
    const runIds = new Set<string>((await ctx.db.query("runs").collect()).map((r: Doc<"runs">) => r._id as string));
    const byCard = async (table: "runs" | "artifacts" | "transitions" | "turns", cardId: string) =>
      (await ctx.db.query(table).withIndex("by_card", (q: any) => q.eq("cardId", cardId)).collect()).length;
    // Rows keyed by run whose run is gone: what a deleted card's runs would leave.
    const orphans = async (table: "events" | "inbox" | "runSettings") =>
      (await ctx.db.query(table).collect()).filter((d: { runId: string }) => !runIds.has(d.runId)).length;
    const orphanRows = { events: await orphans("events"), inbox: await orphans("inbox"), runSettings: await orphans("runSettings") };
    const sessions: Doc<"sessions">[] = await ctx.db.query("sessions").collect();
    const cards = [];
    for (const cardId of cardIds) {
      const mine = sessions.filter((s) => s.cardId === cardId);
      cards.push({
        cardId,
        exists: (await ctx.db.get(cardId as Id<"cards">)) !== null,
        rows: {
          runs: await byCard("runs", cardId),
          sessions: mine.length,
          artifacts: await byCard("artifacts", cardId),
          transitions: await byCard("transitions", cardId),
          turns: await byCard("turns", cardId),
          ...orphanRows,
        },
        liveTokens: mine.filter((s) => s.tokenHash !== undefined).length,
      });
    }
    const named = new Set<string>((await ctx.db.query("artifacts").collect()).map((a: Doc<"artifacts">) => a.storageId as string));
    const files: Array<{ _id: string }> = await ctx.db.system.query("_storage").collect();
    return { cards, orphanBlobs: files.map((f) => f._id).filter((id) => !named.has(id)) };
  });
}

export function evaluateDeleted(data: DeletedData, live: Live, check: (invariant: string, ok: boolean, message: () => string) => void): void {
  for (const c of data.cards) {
    check("deleted", !c.exists, () => `card ${c.cardId} was deleted but its row remains`);
    const boxes = live.filter((b) => b.metadata["lakitu.card"] === c.cardId).map((b) => b.sandboxId);
    check("deleted", boxes.length === 0, () => `sandbox(es) ${boxes.join(", ")} alive for deleted card ${c.cardId}`);
    check("deleted", c.liveTokens === 0, () => `deleted card ${c.cardId} has ${c.liveTokens} session(s) whose token is still accepted`);
    for (const [table, n] of Object.entries(c.rows)) {
      check("deleted", n === 0, () => `deleted card ${c.cardId}: ${n} row(s) left in ${table}`);
    }
  }
  if (data.cards.length > 0) {
    check("deleted", data.orphanBlobs.length === 0, () => `${data.orphanBlobs.length} stored file(s) no artifact names: ${data.orphanBlobs.slice(0, 5).join(", ")}`);
  }
}
