import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { CALLBACK_URL, SimRuntime, advance, makeBoard, runStatus, setup, until } from "../testing/harness.js";
import { listAll } from "../testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("card run lifecycle", () => {
  test("a card passes two agent stages to done", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    const { runId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
    await until(t, async () => (await runStatus(t, runId)) === "running");
    const rt = new SimRuntime(t, provider.latest());
    expect(rt.sandbox.envs.LAKITU_URL).toBe(CALLBACK_URL);
    expect((await rt.events(["hello", "world"])).body).toMatchObject({ ok: true, stored: 2 });
    expect((await rt.upload("report.md", "# Report\n\nOtters are great swimmers.")).status).toBe(200);
    expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ ok: true, accepted: true });
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.stageId === stageIds[1]);
    const run1 = await t.query(api.runs.getRun, { runId });
    expect(run1?.status).toBe("succeeded");
    expect(run1?.qa?.ok).toBe(true);
    // Second stage: the card waits idle (no autoAdvance); run it by hand.
    expect((await t.query(api.cards.getCard, { cardId }))?.status).toBe("idle");
    const { runId: run2 } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
    await until(t, async () => (await runStatus(t, run2)) === "running");
    const rt2 = new SimRuntime(t, provider.latest());
    await rt2.upload("report.md", "# Draft\n\nA longer draft about otters.");
    await rt2.complete();
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "done");
    const card = await t.query(api.cards.getCard, { cardId });
    expect(card?.stageId).toBe(stageIds[2]);
    // The kill the workflow's last step scheduled runs right after it.
    await until(t, async () => provider.alive().length === 0);
  });
});

describe("listActive", () => {
  test("lists runs that have not ended, across boards, and drops them once they end", async () => {
    const { t, providerHandle } = await setup();
    const a = await makeBoard(t);
    const b = await makeBoard(t);
    const { runId: ra } = await t.mutation(api.runs.runCard, { cardId: a.cardId, providerHandle, callbackUrl: CALLBACK_URL });
    const { runId: rb } = await t.mutation(api.runs.runCard, { cardId: b.cardId, providerHandle, callbackUrl: CALLBACK_URL });
    await until(t, async () => (await runStatus(t, ra)) === "running" && (await runStatus(t, rb)) === "running");
    expect((await listAll(t, api.runs.listActive, {})).map((r) => r.runId).sort()).toEqual([ra, rb].sort());
    await t.mutation(api.runs.cancelRun, { runId: ra });
    expect((await listAll(t, api.runs.listActive, {})).map((r) => r.runId)).toEqual([rb]);
    expect((await t.query(api.runs.listActive, { paginationOpts: { numItems: 1, cursor: null } })).page).toHaveLength(1);
  });
});
