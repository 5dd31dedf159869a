/// <reference types="vite/client" />
/**
 * The example app tested the way the README's "Testing your app" section says: the app's own modules
 * with `lakitu/test` mounting the component's routes under /lakitu/ (as httpPrefix does) and the
 * E2B provider module swapped for the in-memory test provider.
 */
import { convexTest } from "convex-test";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import lakituTest from "lakitu/test";
import schema from "./schema";
import { api } from "./_generated/api";

const modules = import.meta.glob("./**/*.ts");

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubEnv("CONVEX_SITE_URL", "https://example.convex.site");
  lakituTest.testProvider.reset();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

function setup() {
  const t = convexTest(schema, lakituTest.withLakitu(modules, { provider: "sandbox" }));
  lakituTest.register(t);
  return t;
}
type T = ReturnType<typeof setup>;
const sandboxes = lakituTest.testProvider;

async function advanceUntil(t: T, cond: () => Promise<boolean>, maxMs = 30_000) {
  for (let ms = 0; ms <= maxMs; ms += 50) {
    if (await cond()) return;
    vi.advanceTimersByTime(50);
    await t.finishInProgressScheduledFunctions();
  }
  throw new Error("condition not reached");
}

/** The first page of a list, as `usePaginatedQuery` asks for it. */
const FIRST = { numItems: 10, cursor: null };

describe("example app", () => {
  test("the run button takes a card through Research and Draft to Done", async () => {
    const t = setup();
    const boardId = await t.mutation(api.lakitu.createDemoBoard, {});
    const cardId = await t.mutation(api.lakitu.addCard, { boardId, title: "Sea otters" });
    const { runId } = await t.mutation(api.lakitu.run, { cardId });
    const firstCard = async () => (await t.query(api.lakitu.cards, { boardId, paginationOpts: FIRST })).page[0];
    const status = async () => (await firstCard()).status;

    await advanceUntil(t, async () => sandboxes.alive().length === 1);
    const research = lakituTest.runtime(t);
    expect(research.sandbox.envs.LAKITU_URL).toBe("https://example.convex.site/lakitu");
    expect((await research.events(["working"])).status).toBe(200);
    expect(await research.deliver({ "notes.md": "Sea otters hold hands while they sleep." })).toMatchObject({ status: 200, body: { ok: true, accepted: true } });
    // Research auto-advances into Draft, which starts a second sandbox.
    await advanceUntil(t, async () => sandboxes.calls.filter((c) => c.op === "create").length === 2 && sandboxes.alive().length === 1);
    const draft = lakituTest.runtime(t);
    expect(draft.sandbox).not.toBe(research.sandbox);
    await draft.deliver({
      "article.md": "# Sea otters\n\nThey hold hands while they sleep, and use stones as tools.",
      "sources.json": JSON.stringify(["https://example.org/otters"]),
    });
    await advanceUntil(t, async () => (await status()) === "done");

    const view = (await t.query(api.lakitu.board, { boardId }))!;
    expect((await firstCard()).stageId).toBe(view.stages[2].stageId);
    // The last sandbox's kill, scheduled as the card settled, runs right after.
    await advanceUntil(t, async () => sandboxes.alive().length === 0);
    const events = await t.query(api.lakitu.events, { runId, paginationOpts: FIRST });
    expect(events.page.map((e: { text?: string }) => e.text)).toEqual(["working"]);
    expect(events.isDone).toBe(true);
    const runs = await t.query(api.lakitu.runs, { cardId, paginationOpts: FIRST });
    expect(runs.page.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    const boards = await t.query(api.lakitu.boards, { paginationOpts: FIRST });
    expect(boards.page.map((b) => b.boardId)).toEqual([boardId]);
  });

  test("a token from a finished run is refused by the mounted routes", async () => {
    const t = setup();
    const boardId = await t.mutation(api.lakitu.createDemoBoard, {});
    const cardId = await t.mutation(api.lakitu.addCard, { boardId, title: "Kelp" });
    await t.mutation(api.lakitu.run, { cardId });
    await advanceUntil(t, async () => sandboxes.alive().length === 1);
    const rt = lakituTest.runtime(t);
    expect(await t.mutation(api.lakitu.stop, { cardId })).toBe(true);
    await advanceUntil(t, async () => sandboxes.alive().length === 0);
    expect((await rt.heartbeat()).status).toBe(401);
    expect((await t.query(api.lakitu.cards, { boardId, paginationOpts: FIRST })).page[0].status).toBe("idle");
  });
});

describe("budgets through the client", () => {
  test("a card out of steps pauses; resume continues it to Done and usage adds up", async () => {
    const t = setup();
    const boardId = await t.mutation(api.lakitu.createBudgetBoard, { maxSteps: 1 });
    const cardId = await t.mutation(api.lakitu.addCard, { boardId, title: "Otters" });
    await t.mutation(api.lakitu.run, { cardId });
    await advanceUntil(t, async () => sandboxes.alive().length === 1);
    const first = lakituTest.runtime(t);
    // The scripted model answers step 0; step 1 is past maxSteps and is refused before any model call.
    expect((await first.post("llm", { step: 0, observation: "Begin." })).body.reply).toContain("```");
    expect((await first.upload("notes.md", "too short")).status).toBe(200);
    expect((await first.post("llm", { step: 1, observation: "wrote notes" })).body.stop).toBe("budget_exceeded");
    const status = async () => (await t.query(api.lakitu.cards, { boardId, paginationOpts: FIRST })).page[0].status;
    await advanceUntil(t, async () => (await status()) === "paused");

    await t.mutation(api.lakitu.resume, { cardId, maxSteps: 5 });
    await advanceUntil(t, async () => sandboxes.calls.filter((c) => c.op === "create").length === 2 && sandboxes.alive().length === 1);
    const second = lakituTest.runtime(t);
    expect(second.sandbox).not.toBe(first.sandbox);
    const task = (await second.post("task", {})).body.task;
    expect(task.limits.maxSteps).toBe(5);
    expect(task.restore.map((f: { name: string }) => f.name)).toEqual(["notes.md"]);
    await second.post("llm", { step: 0, observation: "Resumed." });
    await second.deliver({ "notes.md": "Sea otters hold hands while they sleep." });
    await advanceUntil(t, async () => (await status()) === "done");
    const usage = await t.query(api.lakitu.usage, { cardId });
    expect(usage.steps).toBe(2);
    expect(usage.costUsd).toBe(0); // the scripted model is free
    expect(usage.sandboxSeconds).toBeGreaterThan(0);
  });
});

describe("the board UI's wrappers (lakituBoard.ts)", () => {
  test("a board from the New board form, a card edited and deleted, a run reviewed with its artifacts", async () => {
    const t = setup();
    const boardId = await t.mutation(api.lakituBoard.createBoard, {
      name: "Reviewed",
      stages: [
        { name: "Write", kind: "agent", deliverables: [{ name: "notes.md", type: "markdown", checks: { minWords: 5 } }], requiresApproval: true },
        { name: "Done", kind: "done" },
      ],
    });
    const boards = await t.query(api.lakitu.boards, { paginationOpts: FIRST });
    expect(boards.page.map((b) => [b.boardId, b.owner])).toEqual([[boardId, "anonymous"]]);
    const [write, done] = (await t.query(api.lakitu.board, { boardId }))!.stages;

    // A card added straight to a stage, edited, then deleted.
    const parked = await t.mutation(api.lakitu.addCard, { boardId, title: "Parked", description: "later", stageId: done.stageId });
    expect(await t.query(api.lakituBoard.getCard, { cardId: parked })).toMatchObject({ stageId: done.stageId, description: "later" });
    await t.mutation(api.lakituBoard.updateCard, { cardId: parked, title: "Parked for good", description: null });
    const edited = (await t.query(api.lakituBoard.getCard, { cardId: parked }))!;
    expect([edited.title, edited.description]).toEqual(["Parked for good", undefined]);
    await t.mutation(api.lakituBoard.deleteCard, { cardId: parked });
    await advanceUntil(t, async () => (await t.query(api.lakituBoard.getCard, { cardId: parked })) === null);

    const cardId = await t.mutation(api.lakitu.addCard, { boardId, title: "Otters" });
    const { runId } = await t.mutation(api.lakitu.run, { cardId });
    expect((await t.query(api.lakituBoard.getRun, { runId }))!.cardId).toBe(cardId);
    const active = await t.query(api.lakituBoard.listActiveRuns, { paginationOpts: FIRST });
    expect(active.page.map((r) => r.runId)).toEqual([runId]);
    await advanceUntil(t, async () => sandboxes.alive().length === 1);
    await t.mutation(api.lakituBoard.sendMessage, { runId, text: "Keep it short." });
    const rt = lakituTest.runtime(t);
    await rt.post("llm", { step: 0, observation: "Begin." });
    await rt.deliver({ "notes.md": "Sea otters hold hands while they sleep." });
    const card = async () => (await t.query(api.lakituBoard.getCard, { cardId }))!;
    await advanceUntil(t, async () => (await card()).status === "awaiting_review");

    const artifacts = await t.query(api.lakituBoard.listArtifacts, { runId, paginationOpts: FIRST });
    expect(artifacts.page.map((a) => a.name)).toEqual(["notes.md"]);
    expect(await t.query(api.lakituBoard.getArtifactUrl, { artifactId: artifacts.page[0].artifactId })).toMatch(/^https?:\/\//);
    expect(await t.mutation(api.lakituBoard.reviewRun, { runId, decision: "approved", note: "fine" })).toBe(true);
    await advanceUntil(t, async () => (await card()).stageId === done.stageId);
    expect((await card()).stageId).not.toBe(write.stageId);

    const transitions = await t.query(api.lakituBoard.listTransitions, { cardId, paginationOpts: FIRST });
    expect(transitions.page[0]).toMatchObject({ from: `awaiting_review@${write.stageId}`, to: `done@${done.stageId}` });
    expect(await t.query(api.lakituBoard.getPlan, { cardId })).toEqual([]);
    const transcript = await t.query(api.lakituBoard.transcript, { cardId, paginationOpts: FIRST });
    expect(transcript.page.map((m) => m.role)).toEqual(["assistant", "user"]); // newest first
    expect(transcript.page[1].text).toContain("Begin.");
  });
});
