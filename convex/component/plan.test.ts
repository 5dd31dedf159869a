/** The `plan` KSA's tasks live in `planTasks`, bounded per card; the card document never changes while the agent plans. */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { MAX_PLAN_TASKS } from "../shared/defaults.js";
import { makeBoard, setup } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("plan tasks", () => {
  test("a full plan is refused past MAX_PLAN_TASKS; updates find tasks by id; the card stays as it was", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { rt } = await startRunning(t, cardId, providerHandle);
    const card = await t.run(async (ctx) => await ctx.db.get(cardId as never));
    const ksa = (fn: string, args: unknown) => rt.post("ksa", { ksa: "plan", fn, args });
    for (let i = 0; i < MAX_PLAN_TASKS; i++) expect((await ksa("add", { title: `task ${i}` })).status).toBe(200);
    const over = await ksa("add", { title: "one more" });
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ ok: false, code: "too_large" });
    expect(over.body.message).toContain(`the plan already has ${MAX_PLAN_TASKS} tasks`);
    expect((await ksa("update", { id: `t${MAX_PLAN_TASKS}`, status: "doing", note: "n" })).body.result).toEqual({
      id: `t${MAX_PLAN_TASKS}`, title: `task ${MAX_PLAN_TASKS - 1}`, kind: "task", status: "doing", note: "n",
    });
    const missing = await ksa("update", { id: "t0", status: "done" });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain("plan task t0 does not exist");
    const got = (await ksa("get", {})).body.result.tasks;
    expect(got).toHaveLength(MAX_PLAN_TASKS);
    expect(got[0]).toEqual({ id: "t1", title: "task 0", kind: "task", status: "todo" });
    // The app reads the same plan through the public query; an unknown card has none.
    expect(await t.query(api.cards.getPlan, { cardId })).toEqual(got);
    expect(await t.query(api.cards.getPlan, { cardId: "not-a-card" })).toEqual([]);
    expect(await t.run(async (ctx) => await ctx.db.get(cardId as never))).toEqual(card);
  });
});
