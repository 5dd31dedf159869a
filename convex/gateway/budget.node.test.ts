/**
 * Cost control through the real routes and a loopback OpenAI-compatible model server that reports
 * token usage (and, when asked, its own cost): the price table, the reservation made before each call,
 * one turn in flight per run, and steps counted with the turn. The model server's own count of calls
 * is what the limits are checked against.
 */
import * as vitest from "vitest";
import { describe, expect, test, vi } from "vitest";
import { api } from "../component/_generated/api.js";
import { isLakituError } from "../shared/errors.js";
import { makeBoard, runStatus, setup, SimRuntime, until } from "../testing/harness.js";
import { getRun, startRunning } from "../testing/runHelpers.js";
import { useModelServer, type ModelServer } from "../testing/modelServer.js";
import { PRICE_TABLE } from "./prices.js";
import { checkInvariants } from "../../test/faults/invariants.js";
import { listAll } from "../testing/listAll.js";

const server = useModelServer(vitest);
let model: ModelServer;
vitest.beforeEach(() => {
  model = server();
});

const MODEL = "compatible/test-model";
const PRICE = { model: MODEL, inputUsdPerMTok: 2, cachedInputUsdPerMTok: 0.5, outputUsdPerMTok: 8, source: "test contract", date: "2026-11-30" };

async function running(limits: Record<string, number>, opts: { price?: boolean } = {}) {
  const { t, providerHandle, provider } = await setup();
  if (opts.price !== false) await t.mutation(api.config.configure, { prices: [PRICE] });
  const { cardId, boardId, stageIds } = await makeBoard(t);
  await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { model: MODEL, limits: { maxAttempts: 1, ...limits } } });
  const r = await startRunning(t, cardId, providerHandle);
  return { t, cardId, boardId, provider, providerHandle, ...r };
}
const llm = (rt: { post: (p: string, b: unknown) => Promise<{ status: number; body: any }> }, step: number, observation = "go") => rt.post("llm", { step, observation });

describe("cost accounting", () => {
  test("a turn costs its tokens × the model's price (cached input at the cached rate); run, card and board totals agree", async () => {
    const { t, rt, runId, cardId, boardId } = await running({ maxCostUsd: 1 });
    model.replies.push({ content: "```ts\nconsole.log(1)\n```", usage: { prompt_tokens: 1000, completion_tokens: 500, prompt_tokens_details: { cached_tokens: 400 } } });
    expect((await llm(rt, 0)).status).toBe(200);
    const expected = (600 * 2 + 400 * 0.5 + 500 * 8) / 1_000_000;
    const run = await getRun(t, runId);
    expect(run.usage).toMatchObject({ inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, steps: 1 });
    expect(run.usage.costUsd).toBeCloseTo(expected, 12);
    const [turn] = await listAll(t, api.usage.listTurns, { runId });
    expect(turn).toMatchObject({ step: 0, status: "settled", costSource: "price", priceSource: "test contract, 2026-11-30" });
    expect(turn.costUsd).toBeCloseTo(expected, 12);
    for (const scope of [{ runId }, { cardId }, { boardId }]) {
      const u = await t.query(api.usage.getUsage, scope);
      expect(u).toMatchObject({ inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, steps: 1 });
      expect(u.costUsd).toBeCloseTo(expected, 12);
    }
  });

  test("the provider's own figure wins over the table when it reports one", async () => {
    const { t, rt, runId } = await running({ maxCostUsd: 5 });
    model.replies.push({ content: "ok", cost: 0.4321 });
    await llm(rt, 0);
    const [turn] = await listAll(t, api.usage.listTurns, { runId });
    expect(turn).toMatchObject({ costSource: "provider", costUsd: 0.4321 });
    expect((await getRun(t, runId)).usage.costUsd).toBe(0.4321);
  });

  test("every call carries maxOutputTokens: the stage's, or the default", async () => {
    const { rt } = await running({ maxOutputTokens: 1234 });
    await llm(rt, 0);
    expect(model.seen[0].body.max_tokens).toBe(1234);
    const other = await running({});
    await llm(other.rt, 0);
    expect(model.seen[1].body.max_tokens).toBe(8192);
  });

  test("the shipped table has a source and a date for every price, and the scripted model is free", () => {
    for (const p of PRICE_TABLE) {
      expect(p.source.length).toBeGreaterThan(10);
      expect(p.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(p.inputUsdPerMTok).toBeGreaterThanOrEqual(0);
    }
    expect(PRICE_TABLE.find((p) => p.model === "scripted")).toMatchObject({ inputUsdPerMTok: 0, outputUsdPerMTok: 0 });
  });
});

describe("enforcement before the money is spent", () => {
  test("a turn whose worst case would cross maxCostUsd is refused before the model is called", async () => {
    // Worst case of a turn: 1000 output tokens at $8/M = $0.008, plus its input (a ~5.8k-character system prompt:
    // ~2,000 tokens at $2/M = $0.004). Budget $0.0125: the first turn fits, the second does not.
    const { t, rt, runId, cardId } = await running({ maxCostUsd: 0.0125, maxOutputTokens: 1000 });
    model.replies.push({ content: "```ts\nconsole.log(1)\n```", usage: { prompt_tokens: 500, completion_tokens: 1000 } });
    expect((await llm(rt, 0)).body.stop).toBeUndefined();
    const spent = (await getRun(t, runId)).usage.costUsd; // 500 × 2 + 1000 × 8 per M = $0.009
    expect(spent).toBeCloseTo(0.009, 12);
    const over = await llm(rt, 1);
    expect(over.body).toMatchObject({ stop: "budget_exceeded", reply: "" });
    expect(model.seen).toHaveLength(1);
    await until(t, async () => (await runStatus(t, runId)) === "failed");
    const run = await getRun(t, runId);
    expect(run.error?.code).toBe("budget_exceeded");
    expect(run.error?.message).toContain("maxCostUsd");
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "paused");
    expect(run.usage.costUsd).toBeLessThanOrEqual(0.0125);
    const events = await listAll(t, api.events.listEvents, { runId });
    expect(events.at(-1)?.text).toMatch(/budget reached \(maxCostUsd\): the next turn could cost up to \$0\.0\d+/);
  });

  test("50 concurrent /llm calls on a 3-step stage make at most 3 model calls", async () => {
    const { t, rt, runId } = await running({ maxSteps: 3 });
    for (let round = 0; round < 5; round++) {
      let release!: () => void;
      model.hold = new Promise<void>((r) => (release = r));
      const calls = Array.from({ length: 50 }, (_, i) => llm(rt, i % 2 === 0 ? round : round + (i % 5), `attack ${round}.${i}`));
      // Let every request reach the component while the model is held.
      await vi.waitFor(() => expect(model.seen.length).toBeGreaterThan(0), { timeout: 5_000 }).catch(() => undefined);
      release();
      const answers = await Promise.all(calls);
      for (const a of answers) expect([200, 400, 401, 409]).toContain(a.status);
      model.hold = null;
    }
    expect(model.seen.length).toBeLessThanOrEqual(3);
    const run = await getRun(t, runId);
    expect(run.usage.steps).toBeLessThanOrEqual(3);
    const turns = await listAll(t, api.usage.listTurns, { runId });
    expect(turns.filter((x) => x.status === "settled")).toHaveLength(model.seen.length);
    // The fault suite's budget invariant agrees, against the model server's own count.
    const report = await checkInvariants(t, { live: () => [], modelCalls: () => model.seen.length, settleMs: 0 });
    expect(report.byInvariant.budget).toBeGreaterThanOrEqual(3);
    expect(report.violations.filter((v) => v.startsWith("[budget]"))).toEqual([]);
  });

  test("the budget invariant reports a run that spent past its budget (broken on purpose)", async () => {
    const { t, rt, runId } = await running({ maxSteps: 1, maxCostUsd: 0.5 });
    await llm(rt, 0);
    // Forge what a broken gateway would leave: a second settled turn, a cost over the budget, two in flight.
    await t.run(async (ctx) => {
      const run = (await ctx.db.get(runId as never)) as unknown as { _id: never; cardId: never; usage: Record<string, number> };
      for (const [step, status] of [[1, "settled"], [2, "reserved"], [3, "reserved"]] as const) {
        await ctx.db.insert("turns", { runId: run._id, cardId: run.cardId, step, model: MODEL, status, reservedUsd: 0, promptChars: 1, reservedAt: Date.now() });
      }
      await ctx.db.patch(run._id, { usage: { ...run.usage, costUsd: 0.75 } } as never);
    });
    const report = await checkInvariants(t, { live: () => [], modelCalls: () => 5, settleMs: 0 });
    const budget = report.violations.filter((v) => v.startsWith("[budget]"));
    expect(budget).toEqual([
      expect.stringContaining("made 4 model turns; its maxSteps is 1"),
      expect.stringContaining("has 2 model turns in flight at once"),
      expect.stringContaining("spent $0.75 past its maxCostUsd $0.5"),
      expect.stringContaining("the model server counted 5 call(s); the component settled 2 turn(s)"),
    ]);
  });

  test("a second call while a turn is in flight gets 409 busy; the retry after it settles gets the same reply", async () => {
    const { t, rt, runId } = await running({});
    let release!: () => void;
    model.hold = new Promise<void>((r) => (release = r));
    model.replies.push({ content: "the answer" });
    const first = llm(rt, 0);
    await vi.waitFor(() => expect(model.seen).toHaveLength(1), { timeout: 5_000 });
    const busy = await llm(rt, 0);
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe("busy");
    const ahead = await llm(rt, 1);
    expect(ahead.status).toBe(409);
    release();
    expect((await first).body.reply).toBe("the answer");
    expect((await llm(rt, 0)).body.reply).toBe("the answer");
    expect(model.seen).toHaveLength(1);
    expect((await getRun(t, runId)).usage.steps).toBe(1);
  });
});

describe("prices are checked", () => {
  test("a stage with maxCostUsd whose model has no price is refused at runCard, saying how to add one", async () => {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { model: MODEL, limits: { maxCostUsd: 2 } } });
    const e = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: "http://lakitu.test" }).catch((x: unknown) => x);
    expect(isLakituError(e, "invalid_argument")).toBe(true);
    const message = (e as { data: { message: string } }).data.message;
    expect(message).toContain(`model "${MODEL}" has no known price`);
    expect(message).toContain(`configure({ prices: [{ model: "${MODEL}"`);
    expect(await listAll(t, api.runs.listRuns, { cardId })).toEqual([]);
  });

  test.each([
    [{ ...PRICE, inputUsdPerMTok: -1 }, "prices[0].inputUsdPerMTok (compatible/test-model): must be a number of USD per million tokens from 0 to 10000, got -1"],
    [{ ...PRICE, outputUsdPerMTok: Number.NaN }, "prices[0].outputUsdPerMTok (compatible/test-model): must be a number of USD per million tokens from 0 to 10000, got NaN"],
    [{ model: MODEL, outputUsdPerMTok: 1, source: "x", date: "2026-01-01" }, "prices[0].inputUsdPerMTok (compatible/test-model): missing"],
    [{ ...PRICE, source: undefined }, "prices[0].source (compatible/test-model): say where the price comes from"],
    [{ ...PRICE, date: "yesterday" }, 'prices[0].date (compatible/test-model): the day the price was read, as YYYY-MM-DD, got "yesterday"'],
    [{ ...PRICE, model: "" }, "prices[0].model: a model string"],
  ])("a bad price is refused with its field named: %j", async (bad, message) => {
    const { t } = await setup();
    await t.mutation(api.config.configure, { prices: [PRICE] });
    const e = await t.mutation(api.config.configure, { prices: [bad as typeof PRICE] }).catch((x: unknown) => x);
    expect(isLakituError(e, "invalid_argument")).toBe(true);
    expect((e as { data: { message: string } }).data.message).toContain(message);
    // Nothing stored changed.
    expect((await t.query(api.config.getConfig, {})).prices).toEqual([PRICE]);
  });

  test("a model listed twice is refused", async () => {
    const { t } = await setup();
    const e = await t.mutation(api.config.configure, { prices: [PRICE, PRICE] }).catch((x: unknown) => x);
    expect((e as { data: { message: string } }).data.message).toContain('prices[1].model: "compatible/test-model" is listed twice');
  });
});

describe("budgets pause and resume", () => {
  test("a run that reaches maxSteps with its deliverables done succeeds; a card short of them pauses, and resume continues the thread with its files", async () => {
    const { t, rt, runId, cardId, provider, providerHandle } = await running({ maxSteps: 1, maxAttempts: 2 });
    model.replies.push({ content: "```ts\nconsole.log('draft')\n```" });
    expect((await llm(rt, 0, "Begin.")).body.stop).toBeUndefined();
    // The agent saved a draft too short for QA (minWords 3), then asked for a step it does not have.
    expect((await rt.upload("report.md", "draft")).status).toBe(200);
    expect((await llm(rt, 1, "saved a draft")).body.stop).toBe("budget_exceeded");
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "paused");
    const paused = await getRun(t, runId);
    expect(paused).toMatchObject({ status: "failed", error: { code: "budget_exceeded" } });
    expect(paused.qa?.ok).toBe(false);
    const transitions = (await listAll(t, api.runs.listTransitions, { cardId })).reverse();
    expect(transitions.map((x) => `${x.entity}:${x.to}`)).toContain("card:paused");
    expect(transitions.find((x) => x.to === "collecting")?.reason).toContain("budget reached (maxSteps)");

    // Resume with a raised step budget and a note: a new run, same thread, the draft back in its workspace.
    const resumed = await t.mutation(api.runs.resumeCard, { cardId, providerHandle, callbackUrl: "http://lakitu.test", raise: { maxSteps: 3 }, note: "finish the report" });
    expect(resumed).toMatchObject({ attempt: 2, created: true });
    await until(t, async () => (await runStatus(t, resumed.runId)) === "running");
    const rt2 = new SimRuntime(t, provider.latest());
    const task = (await rt2.post("task", {})).body.task;
    expect(task.limits.maxSteps).toBe(3);
    expect(task.retryContext.reviewerNotes).toEqual(["finish the report"]);
    expect(task.restore).toEqual([expect.objectContaining({ name: "report.md", size: 5 })]);
    const bytes = await t.fetch("/restore", { method: "POST", headers: rt2.headers(), body: JSON.stringify({ artifactId: task.restore[0].artifactId }) });
    expect(bytes.headers.get("content-type")).toBe("application/octet-stream");
    expect(await bytes.text()).toBe("draft");
    // The old runtime's token is dead, and a file that is not the paused run's is refused.
    expect((await rt.heartbeat()).status).toBe(401);
    const other = await t.fetch("/restore", { method: "POST", headers: rt2.headers(), body: JSON.stringify({ artifactId: "nope" }) });
    expect(other.status).toBe(403);

    model.replies.push({ content: "Done." });
    await llm(rt2, 0, "Resumed.");
    // The model saw the earlier turns: the thread continued.
    const messages = model.seen.at(-1)!.body.messages.map((m: any) => (typeof m.content === "string" ? m.content : m.content.map((c: any) => c.text).join("")));
    // (Each prompt starts with the line that marks its stage and attempt: convex/gateway/context.ts.)
    expect(messages.some((m: string) => /^\[lakitu stage #\S+ "[^"]+", attempt \d+\]\n+Begin\.$/.test(m))).toBe(true);
    expect(messages).toContain("```ts\nconsole.log('draft')\n```");
    // The system prompt says it is a continuation, with the files back and the note.
    expect(messages[0]).toContain("This run continues the previous one, which stopped when its budget ran out. Its files are back in out/: report.md.");
    expect(messages[0]).toContain("Note: finish the report");
    await rt2.upload("report.md", "A finished report about otters.");
    await rt2.complete("succeeded", ["report.md"]);
    await until(t, async () => (await runStatus(t, resumed.runId)) === "succeeded");
    // No attempt was spent on the pause: the resumed run kept the paused run's allowance.
    const allowance = await t.run(async (ctx) => [await ctx.db.get(runId as never), await ctx.db.get(resumed.runId as never)].map((r) => (r as { retriesLeft: number }).retriesLeft));
    expect(allowance[1]).toBe(allowance[0]);
  });

  test("a run that wrote every deliverable in its last allowed step succeeds (budget_exceeded is not agent_failed)", async () => {
    const { t, rt, runId, cardId } = await running({ maxSteps: 1 });
    model.replies.push({ content: "```ts\nconsole.log('report')\n```" });
    await llm(rt, 0, "Begin.");
    await rt.upload("report.md", "A complete report about sea otters.");
    expect((await llm(rt, 1, "wrote it")).body.stop).toBe("budget_exceeded");
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
    const run = await getRun(t, runId);
    expect(run.qa?.ok).toBe(true);
    expect(run.error).toBeUndefined();
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.stageId !== run.stageId);
  });

  test("only a paused card resumes; raised limits are checked", async () => {
    const { t, cardId, providerHandle } = await running({});
    const notPaused = await t.mutation(api.runs.resumeCard, { cardId, providerHandle, callbackUrl: "http://lakitu.test" }).catch((e: unknown) => e);
    expect(isLakituError(notPaused, "conflict")).toBe(true);
    expect((notPaused as { data: { message: string } }).data.message).toContain("only a card paused by its budget can be resumed");
    await t.run(async (ctx) => ctx.db.patch(cardId as never, { status: "paused" } as never));
    const bad = await t.mutation(api.runs.resumeCard, { cardId, providerHandle, callbackUrl: "http://lakitu.test", raise: { maxSteps: -1 } }).catch((e: unknown) => e);
    expect(isLakituError(bad, "invalid_argument")).toBe(true);
    expect((bad as { data: { message: string } }).data.message).toContain("maxSteps");
  });
});
