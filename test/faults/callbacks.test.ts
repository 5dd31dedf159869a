/**
 * The network between the runtime and the component misbehaves. Each card's runtime calls back through
 * a loopback proxy (its callbackUrl) that, per route, refuses requests, resets connections, loses
 * answers after the component did the work, delays, duplicates, splits event batches and sends the
 * second half first, or replays stale copies later. The runtime retries; every card still finishes on
 * its first attempt, and no event is lost or stored twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { reportFile } from "./invariants.js";
import {
  addCard,
  api,
  board,
  everythingHolds,
  faultStack,
  invariantsHold,
  rng,
  run,
  runsOf,
  settle,
  type FaultStack,
  type Request,
  type Script,
} from "./harness.js";
import { listAll } from "../../convex/testing/listAll.js";

let fs: FaultStack;
let boardId: string;
beforeAll(async () => {
  fs = await faultStack({ heartbeatTimeoutMs: 6_000 });
  ({ boardId } = await board(fs.t, "callback faults", {
    maxAttempts: 2,
    deliverables: [
      { name: "report.md", type: "markdown" },
      { name: "data.json", type: "json" },
    ],
  }));
}, 60_000);
afterAll(async () => {
  try {
    if (fs) await everythingHolds(fs);
  } finally {
    await fs?.close();
    console.log(`callback proxy: ${fs?.callbacks.requests} requests, faults applied ${JSON.stringify(fs?.callbacks.applied)}`);
    reportFile(import.meta.url);
  }
}, 60_000);

/** Runs one card through `profile` and checks it finished on attempt 1 with everything intact. */
async function through(profile: string, script: Script) {
  fs.callbacks.script(profile, script);
  const cardId = await addCard(fs.t, boardId, `through ${profile}`, { scripted_delay_ms: "2500" });
  const { runId } = await fs.runCard(cardId, profile);
  const c = await settle(fs.t, cardId, 90_000);
  const runs = await runsOf(fs.t, cardId);
  expect(runs.map((r) => `${r.attempt}:${r.status}:${r.error?.code ?? ""}`)).toEqual(["1:succeeded:"]);
  expect(c.status).toBe("done");
  const r = await run(fs.t, runId);
  // Two model turns (write, then finish): a repeated or duplicated /llm call is not a new step.
  expect(r.usage.steps).toBe(2);
  const events = await listAll(fs.t, api.events.listEvents, { runId });
  // Nothing lost at the tail either: the last runtime event is the runtime's final status.
  expect(events.at(-1)?.text).toBe("finished: succeeded");
  expect(r.completion?.manifest.map((m) => m.name).sort()).toEqual(["data.json", "report.md"]);
  await invariantsHold(fs, [cardId]);
  return { cardId, runId };
}

const every = (k: number, off = 0) => (r: Request) => r.n % k === off;

describe.concurrent("runtime → component requests misbehave", () => {
  test("refused: the first request of every route, and every third after, answers 503 without reaching the component", async () => {
    await through("refuse", (r) => (every(3)(r) ? { kind: "refuse", status: 503 } : { kind: "forward" }));
  }, 120_000);

  test("reset: the first request of every route, and every fourth after, has its connection reset before forwarding", async () => {
    await through("reset", (r) => (every(4)(r) ? { kind: "reset" } : { kind: "forward" }));
  }, 120_000);

  test("lost answers: the component does the work, the runtime never hears back (reset, or a 502), so it retries", async () => {
    await through("lose", (r) => (r.n === 0 ? { kind: "lose" } : r.n === 2 ? { kind: "lose", status: 502 } : { kind: "forward" }));
  }, 120_000);

  test("delayed: every request is held 150-1200 ms before it is forwarded", async () => {
    await through("delay", (r) => ({ kind: "delay", ms: r.route === "heartbeat" ? 150 : 300 + ((r.n * 373) % 900) }));
  }, 120_000);

  test("duplicated: every request reaches the component twice at once", async () => {
    await through("duplicate", () => ({ kind: "duplicate" }));
  }, 120_000);

  test("reordered: event batches are split and the later half sent first; stale copies of events, heartbeats and the completion arrive 1.5 s later", async () => {
    await through("reorder", (r) =>
      r.route === "events"
        ? r.n % 2 === 0
          ? { kind: "split" }
          : { kind: "replay", afterMs: 1_500 }
        : r.route === "heartbeat" || r.route === "complete"
          ? { kind: "replay", afterMs: 1_500 }
          : { kind: "forward" },
    );
  }, 120_000);

  for (const seed of [7, 42]) {
    test(`chaos (seed ${seed}): a seeded mix of every fault on every route`, async () => {
      const next = rng(seed);
      await through(`chaos${seed}`, (r) => {
        const x = next();
        if (x < 0.1) return { kind: "refuse", status: [429, 500, 502, 503][Math.floor(next() * 4)] };
        if (x < 0.18) return { kind: "reset" };
        if (x < 0.28) return { kind: "lose", ...(next() < 0.5 ? { status: 504 } : {}) };
        if (x < 0.38) return { kind: "duplicate" };
        if (x < 0.46) return r.route === "events" ? { kind: "split" } : { kind: "forward" };
        if (x < 0.54) return { kind: "replay", afterMs: 500 + Math.floor(next() * 1500) };
        if (x < 0.64 && r.route !== "heartbeat") return { kind: "delay", ms: Math.floor(next() * 1000) };
        return { kind: "forward" };
      });
    }, 120_000);
  }
});
