/**
 * useRunEvents against the real component in convex-test: events stored through the runtime's HTTP
 * route in batches, out of order, with holes and gap markers, read by the hook through the real
 * `convex/react` hooks over a client whose deliveries the test orders.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "../convex/component/_generated/api.js";
import { makeBoard, setup, type SimRuntime } from "../convex/testing/harness.js";
import { startRunning } from "../convex/testing/runHelpers.js";
import { useRunEvents } from "./useRunEvents.js";
import { renderWithClient } from "./testing/render.js";
import { runnerOf } from "./testing/convexTestClient.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Ev = { seq: number; kind: string; text?: string; data?: unknown };

async function running() {
  const { t, providerHandle } = await setup();
  const { cardId } = await makeBoard(t);
  const { runId, rt } = await startRunning(t, cardId, providerHandle);
  const run = runnerOf(t);
  return { t, runId, rt, run, providerHandle };
}

/** Stores events with these seqs through the runtime's route (text `e<seq>`). */
async function post(rt: SimRuntime, seqs: number[], extra: Partial<Ev> = {}) {
  const r = await rt.post("events", { events: seqs.map((seq) => ({ seq, kind: "log", text: `e${seq}`, ...extra })) });
  expect(r.status).toBe(200);
}

const seqsOf = (events: Ev[]) => events.map((e) => e.seq);

/** Every list the hook ever returned is a prefix of `final`: nothing shown twice, nothing skipped, nothing taken back. */
function expectPrefixes(renders: { results: Ev[] }[], final: number[]) {
  for (const r of renders) expect(seqsOf(r.results)).toEqual(final.slice(0, r.results.length));
}

describe("useRunEvents", () => {
  test("events stored in several batches stream in once each, in seq order, paging by afterSeq", async () => {
    const { runId, rt, run } = await running();
    const h = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId }, { pageSize: 3 }));
    expect(h.result.status).toBe("loading");
    await h.settle();
    expect(h.result).toMatchObject({ results: [], status: "live" });

    await post(rt, [0, 1]);
    await h.sync();
    expect(seqsOf(h.result.results)).toEqual([0, 1]);
    expect(h.result.results.map((e) => e.text)).toEqual(["e0", "e1"]);

    // Seven more: more than a page, so the hook reads on from the last seq it holds.
    await post(rt, [2, 3, 4, 5, 6, 7, 8]);
    await h.sync();
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(h.result.status).toBe("live");
    const afterSeqs = h.client.asked.filter((a) => a.name === "events:listEvents").map((a) => a.args.afterSeq);
    expect(afterSeqs).toEqual(expect.arrayContaining([undefined, 1, 4, 7, 8]));
    expectPrefixes(h.renders, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("an event past a missing seq is held back until the hole fills", async () => {
    const { runId, rt, run } = await running();
    const h = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId }, { pageSize: 10 }));
    await post(rt, [0, 1]);
    await h.settle();
    await post(rt, [4, 5]); // 2 and 3 are still on their way
    await h.sync();
    expect(seqsOf(h.result.results)).toEqual([0, 1]);
    expect(h.result.status).toBe("waiting");
    expect(h.result.missing).toEqual({ from: 2, to: 3 });

    await post(rt, [2, 3]);
    await h.sync();
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.result).toMatchObject({ status: "live", missing: undefined });
    expectPrefixes(h.renders, [0, 1, 2, 3, 4, 5]);
  });

  test("a gap marker stands for the seqs it covers, and the stream goes on after them", async () => {
    const { runId, rt, run } = await running();
    const h = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId }, { pageSize: 10 }));
    await post(rt, [0]);
    await rt.post("events", { events: [{ seq: 1, kind: "gap", level: "warn", text: "events 1..3 were lost", data: { from: 1, to: 3, reason: "test" } }] });
    await post(rt, [4]);
    await h.settle();
    expect(h.result.results.map((e) => [e.seq, e.kind])).toEqual([[0, "log"], [1, "gap"], [4, "log"]]);
    expect(h.result.status).toBe("live");
  });

  test("pages delivered out of order (a fresh one, then a stale one) take nothing back and repeat nothing", async () => {
    const { runId, rt, run } = await running();
    const h = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId }, { pageSize: 4 }));
    await post(rt, [0, 1]);
    await h.settle();
    h.client.hold();
    await post(rt, [2, 3]);
    await h.act(() => h.client.refresh()); // page A (after seq 1): 2, 3 — queued
    await post(rt, [4, 5, 6]);
    await h.act(() => h.client.refresh()); // page B (after seq 1): 2..5 — queued, fresher than A
    await h.act(() => h.client.release({ reverse: true, count: 1 })); // B first
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5]);
    await h.act(() => h.client.release()); // then the stale A
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5]);
    await h.sync();
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expectPrefixes(h.renders, [0, 1, 2, 3, 4, 5, 6]);
  });

  test("a reconnect, a new client and a remount resume without gaps or duplicates", async () => {
    const { runId, rt, run } = await running();
    const h = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId }, { pageSize: 3 }));
    await post(rt, [0, 1, 2, 3]);
    await h.settle();
    // Reconnect: every query re-runs and the answers come back last-subscribed first.
    await post(rt, [4, 5]);
    await h.sync({ reverse: true });
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5]);
    // A new client with an empty cache: the hook keeps what it holds and asks only for what follows.
    await post(rt, [6]);
    await h.newClient();
    expect(h.client.asked.map((a) => a.args.afterSeq)).toEqual([5, 6]);
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expectPrefixes(h.renders, [0, 1, 2, 3, 4, 5, 6]);
    h.unmount();

    // A remount starts again from the beginning of the log and ends with the same list.
    await post(rt, [7, 8]);
    const again = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId }, { pageSize: 3 }));
    await again.settle();
    expect(seqsOf(again.result.results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expectPrefixes(again.renders, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("another runId starts a new stream; skip shows nothing and asks for nothing", async () => {
    const a = await running();
    await post(a.rt, [0, 1, 2]);
    const other = await makeBoard(a.t);
    const b = await startRunning(a.t, other.cardId, a.providerHandle);
    await b.rt.post("events", { events: [{ seq: 0, kind: "log", text: "other run" }] });
    let args: { runId: string } | "skip" = { runId: a.runId };
    const h = renderWithClient(a.run, () => useRunEvents(api.events.listEvents, args));
    await h.settle();
    expect(seqsOf(h.result.results)).toEqual([0, 1, 2]);

    args = { runId: b.runId };
    await h.rerender();
    expect(h.result.results.map((e) => e.text)).toEqual(["other run"]);
    // No render ever mixed the two runs' events.
    expect(h.renders.every((r) => r.results.every((e) => e.text === "other run") || r.results.every((e) => /^e\d$/.test(e.text!)))).toBe(true);

    args = "skip";
    await h.rerender();
    expect(h.result).toMatchObject({ results: [], status: "loading" });
    const asked = h.client.asked.length;
    await h.sync();
    expect(h.client.asked.length).toBe(asked);
  });

  test("a run that does not exist throws the component's error", async () => {
    const { t } = await setup();
    const run = runnerOf(t);
    await expect(async () => {
      const h = renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId: "nope" }));
      await h.settle();
    }).rejects.toThrow(/run/);
  });

  test("a page size out of range is refused with the option's name", async () => {
    const { t } = await setup();
    const run = runnerOf(t);
    expect(() => renderWithClient(run, () => useRunEvents(api.events.listEvents, { runId: "r" }, { pageSize: 0 }))).toThrow(
      "useRunEvents: options.pageSize must be an integer from 1 to 1000, got 0",
    );
  });
});

/** Wrong wrappers are type errors (checked by `tsc -p .`, which includes this file). */
export function typeChecks(runId: string) {
  // @ts-expect-error latestEvents pages newest first and takes no afterSeq
  useRunEvents(api.events.latestEvents, { runId });
  // @ts-expect-error a card list is not a run's events
  useRunEvents(api.cards.listCards, { runId });
  // @ts-expect-error the args are the run's, not a card's
  useRunEvents(api.events.listEvents, { cardId: runId });
}
