/**
 * useBoard, useCards, useRuns, useArtifacts and useTranscript against the real component in
 * convex-test, through the real `convex/react` hooks: what a board view shows, page by page, live.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "../convex/component/_generated/api.js";
import { makeBoard, setup } from "../convex/testing/harness.js";
import { startRunning } from "../convex/testing/runHelpers.js";
import { cardsByStage, useBoard, useCards, useRuns } from "./useBoard.js";
import { useArtifacts } from "./useArtifacts.js";
import { useTranscript } from "./useTranscript.js";
import { renderWithClient } from "./testing/render.js";
import { runnerOf } from "./testing/convexTestClient.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function deployment() {
  const { t, providerHandle } = await setup();
  const run = runnerOf(t);
  return { t, providerHandle, run };
}

describe("useBoard and useCards", () => {
  test("the board's stages, and its cards page by page, live", async () => {
    const { t, run } = await deployment();
    const { boardId, stageIds, cardId } = await makeBoard(t);
    for (const title of ["b", "c", "d", "e"]) await t.mutation(api.cards.addCard, { boardId, title });
    const h = renderWithClient(run, () => ({
      board: useBoard(api.boards.getBoard, { boardId }),
      cards: useCards(api.cards.listCards, { boardId }, { initialNumItems: 2 }),
    }));
    expect(h.result.board).toBeUndefined();
    await h.settle();
    expect(h.result.board!.board.name).toBe("Pipeline");
    expect(h.result.board!.stages.map((s) => s.name)).toEqual(["Research", "Draft", "Done"]);
    expect(h.result.cards.results).toHaveLength(2);
    expect(h.result.cards.status).toBe("CanLoadMore");

    await h.act(() => h.result.cards.loadMore(2));
    await h.settle();
    expect(h.result.cards.results).toHaveLength(4);
    await h.act(() => h.result.cards.loadMore(2));
    await h.settle();
    expect(h.result.cards.results.map((c) => c.title).sort()).toEqual(["Write about otters", "b", "c", "d", "e"]);
    expect(h.result.cards.status).toBe("Exhausted");

    // Writes show up without a reload: a renamed stage, a card moved to another stage.
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { name: "Find" } });
    await t.mutation(api.cards.moveCard, { cardId, stageId: stageIds[1] });
    await h.sync();
    expect(h.result.board!.stages[0].name).toBe("Find");
    const columns = cardsByStage(h.result.board!.stages, h.result.cards.results);
    expect(columns.map((c) => [c.stage.name, c.cards.length])).toEqual([["Find", 4], ["Draft", 1], ["Done", 0]]);
    expect(columns[1].cards[0].cardId).toBe(cardId);
  });

  test("a board that does not exist is null; initialNumItems out of range is refused by name", async () => {
    const { run } = await deployment();
    const h = renderWithClient(run, () => useBoard(api.boards.getBoard, { boardId: "missing" }));
    await h.settle();
    expect(h.result).toBeNull();
    expect(() => renderWithClient(run, () => useCards(api.cards.listCards, { boardId: "b" }, { initialNumItems: 500 }))).toThrow(
      "useCards: options.initialNumItems must be an integer from 1 to 200, got 500",
    );
  });
});

describe("useRuns, useArtifacts and useTranscript", () => {
  test("a card's runs follow the run's status", async () => {
    const { t, providerHandle, run } = await deployment();
    const { cardId } = await makeBoard(t);
    const { runId } = await startRunning(t, cardId, providerHandle);
    const h = renderWithClient(run, () => useRuns(api.runs.listRuns, { cardId }, { initialNumItems: 5 }));
    await h.settle();
    expect(h.result.results.map((r) => [r.runId, r.status])).toEqual([[runId, "running"]]);
    await t.mutation(api.runs.cancelRun, { runId });
    await h.sync();
    expect(h.result.results.map((r) => r.status)).toEqual(["canceled"]);
  });

  test("artifacts come with their download URLs, and new ones get theirs", async () => {
    const { t, providerHandle, run } = await deployment();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    expect((await rt.upload("report.md", "# Otters\n\nThey hold hands.")).status).toBe(200);
    const h = renderWithClient(run, () => useArtifacts(api.artifacts.listArtifacts, { runId }, { url: api.artifacts.getArtifactUrl, initialNumItems: 10 }));
    await h.settle();
    const [report] = h.result.results;
    expect(report).toMatchObject({ name: "report.md", runId, url: await t.query(api.artifacts.getArtifactUrl, { artifactId: report.artifactId }) });
    expect(report.url).toMatch(/^https?:\/\//);

    expect((await rt.upload("data.csv", "a,b\n1,2\n")).status).toBe(200);
    await h.sync();
    const byName = Object.fromEntries(h.result.results.map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(["data.csv", "report.md"]);
    expect(byName["data.csv"].url).toBe(await t.query(api.artifacts.getArtifactUrl, { artifactId: byName["data.csv"].artifactId }));
    expect(byName["data.csv"].url).not.toBe(byName["report.md"].url);
  });

  test("the transcript shows the agent's conversation oldest first", async () => {
    const { t, providerHandle, run } = await deployment();
    const { cardId } = await makeBoard(t);
    const { rt } = await startRunning(t, cardId, providerHandle);
    const h = renderWithClient(run, () => useTranscript(api.transcripts.transcript, { cardId }, { initialNumItems: 10 }));
    await h.settle();
    expect(h.result.results).toEqual([]);
    const reply = await rt.post("llm", { step: 0, observation: "Begin." });
    expect(reply.status).toBe(200);
    await h.sync();
    const messages = h.result.results;
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(messages.map((m) => m.order)).toEqual([...messages.map((m) => m.order)].sort((a, b) => a - b));
    expect(messages.at(-1)!.role).toBe("assistant");
  });
});

/** Wrong wrappers are type errors (checked by `tsc -p .`, which includes this file). */
export function typeChecks(boardId: string, runId: string) {
  // @ts-expect-error a run list is not a board
  useBoard(api.runs.listRuns, { boardId });
  // @ts-expect-error cards are listed by board, not by run
  useCards(api.cards.listCards, { runId }, { initialNumItems: 10 });
  // @ts-expect-error the artifact list needs the URL query
  useArtifacts(api.artifacts.listArtifacts, { runId }, { initialNumItems: 10 });
  // @ts-expect-error events are not a card's runs
  useRuns(api.events.listEvents, { runId }, { initialNumItems: 10 });
}
