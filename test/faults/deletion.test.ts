/**
 * Invariant 9 (`deleted`): a card or board deleted mid-run leaves no sandbox, no token and no stored
 * byte behind. Controls delete real running cards; the breaks (a provider whose kills do nothing,
 * artifact rows removed without their bytes) must be reported, naming the item.
 *
 * Runs on the embedded deployment with real timers, the test provider and the runtime's own client.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LakituClient } from "../../runtime/client.js";
import { reportFile } from "./invariants.js";
import { addCard, api, board, checkScenario, invariantsHold, run, simStack, waitFor, type SimStack } from "./harness.js";

let fs: SimStack;
let boardId: string;
beforeAll(async () => {
  fs = await simStack({ stuckGraceMs: 5_000 });
  boardId = (await board(fs.t, "deletion", { maxAttempts: 1 })).boardId;
}, 60_000);
afterAll(async () => {
  await fs?.close();
  reportFile(import.meta.url);
}, 60_000);

const REPORT = "# Report\n\nOtters hold hands while they sleep.\n";
const sha = (b: string) => createHash("sha256").update(b).digest("hex");

/** A card whose run is running, has reported events and uploaded report.md. */
async function running(title: string, onBoard = boardId) {
  const cardId = await addCard(fs.t, onBoard, title);
  const { runId } = await fs.runCard(cardId);
  const env = await fs.envOf(runId);
  const client = new LakituClient({ url: `${fs.callbacks.url}/plain`, token: env.LAKITU_TOKEN, generation: Number(env.LAKITU_GENERATION), retry: { initialMs: 50, maxMs: 500 } });
  await waitFor("the run to be running", async () => (await run(fs.t, runId)).status === "running");
  await client.heartbeat();
  await client.uploadArtifact("report.md", new TextEncoder().encode(REPORT), { type: "markdown", contentType: "text/markdown", sha256: sha(REPORT) });
  return { cardId, runId, client };
}

async function gone(cardId: string) {
  await waitFor(`card ${cardId} to be gone`, async () => (await fs.t.query(api.cards.getCard, { cardId })) === null, 30_000, 100);
}

describe("deleted mid-run", () => {
  test("a card: nothing of it remains (control)", async () => {
    const r = await running("delete me");
    await fs.t.mutation(api.lifecycle.deleteCard, { cardId: r.cardId });
    await invariantsHold(fs, [], { deleted: [r.cardId] });
  }, 60_000);

  test("a board with two running cards: nothing of either remains (control)", async () => {
    const { boardId: other } = await board(fs.t, "doomed board", { maxAttempts: 1 });
    const a = await running("first", other);
    const b = await running("second", other);
    await fs.t.mutation(api.lifecycle.deleteBoard, { boardId: other });
    await waitFor("the board to be gone", async () => (await fs.t.query(api.boards.getBoard, { boardId: other })) === null, 30_000, 100);
    await invariantsHold(fs, [], { deleted: [a.cardId, b.cardId] });
  }, 60_000);
});

describe("the checker reports what a deletion leaves behind", () => {
  test("a provider whose kills do nothing: the deleted card's sandbox is reported alive", async () => {
    fs.provider.override = async (req) => (req.op === "kill" ? { ok: true, op: "kill", killed: true } : undefined);
    try {
      const r = await running("kill ignored");
      const box = fs.provider.alive().find((b) => b.metadata["lakitu.card"] === r.cardId)!;
      await fs.t.mutation(api.lifecycle.deleteCard, { cardId: r.cardId });
      await gone(r.cardId);
      const found = (await checkScenario(fs, [], { settleMs: 0, untallied: true, deleted: [r.cardId] })).violations;
      expect(found).toContainEqual(`[deleted] sandbox(es) ${box.sandboxId} alive for deleted card ${r.cardId}`);
      box.alive = false;
    } finally {
      fs.provider.override = null;
    }
  }, 60_000);

  test("artifact rows removed without their bytes: the orphaned file is reported", async () => {
    const r = await running("bytes kept");
    // What a purge that dropped artifact rows and forgot their files would leave: the rows go first,
    // so the deletion has nothing left that names the file.
    const [blob] = await fs.t.run(async (ctx: any) => {
      const rows = await ctx.db.query("artifacts").withIndex("by_card", (q: any) => q.eq("cardId", r.cardId)).collect();
      for (const a of rows) await ctx.db.delete(a._id);
      return rows.map((a: any) => a.storageId as string);
    });
    await fs.t.mutation(api.lifecycle.deleteCard, { cardId: r.cardId });
    await gone(r.cardId);
    const found = (await checkScenario(fs, [], { settleMs: 0, untallied: true, deleted: [r.cardId] })).violations;
    expect(found).toContainEqual(`[deleted] 1 stored file(s) no artifact names: ${blob}`);
    await fs.t.run(async (ctx: any) => await ctx.storage.delete(blob));
    expect((await checkScenario(fs, [], { settleMs: 0, untallied: true, deleted: [r.cardId] })).violations).toEqual([]);
  }, 60_000);
});
