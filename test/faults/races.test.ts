/**
 * Races. The runtime's `complete` is held at the callback proxy while the reaper (the session made due,
 * as if its idle limit had just passed) or a cancel goes first, goes second, or goes at the same
 * moment. And cancel lands in every run state: queued, provisioning (while the provider creates; after
 * it created, before the sandbox is recorded), running, collecting and checking (the QA action held at
 * its first and last mutation).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { reportFile } from "./invariants.js";
import {
  actionCalls,
  addCard,
  api,
  board,
  everythingHolds,
  faultStack,
  firstEvent,
  gate,
  invariantsHold,
  movedFrom,
  run,
  runsOf,
  sessionsOfRun,
  settle,
  sleep,
  waitFor,
  type FaultStack,
} from "./harness.js";

let fs: FaultStack;
let boardId: string;
const outcomes: string[] = [];
beforeAll(async () => {
  // No reaper cron here: the races call the reaper themselves.
  fs = await faultStack({ heartbeatTimeoutMs: 6_000, e2bProxy: true, reapEveryMs: 0 });
  ({ boardId } = await board(fs.t, "races", { maxAttempts: 2 }));
}, 60_000);
afterAll(async () => {
  try {
    if (fs) await everythingHolds(fs);
  } finally {
    await fs?.close();
    console.log(`race outcomes: ${outcomes.join("; ")}`);
    reportFile(import.meta.url);
  }
}, 60_000);

/** A run whose runtime's first `complete` waits at the proxy until `release()`; `arrived` opens when it is held. */
async function heldCompletion(title: string) {
  const hold = gate();
  const arrived = gate();
  let answered: (status: number) => void;
  const answer = new Promise<number>((r) => (answered = r));
  const profile = fs.callbacks.script(
    `hold-${title.replace(/[^a-z0-9]+/gi, "-")}`,
    (r) => {
      if (r.route !== "complete" || r.n !== 0) return { kind: "forward" };
      arrived.open();
      return { kind: "hold", gate: hold };
    },
    (r, a) => {
      if (r.route === "complete" && r.n === 0) answered(a.status);
    },
  );
  const cardId = await addCard(fs.t, boardId, title);
  const { runId } = await fs.runCard(cardId, profile);
  await arrived.promise;
  expect((await run(fs.t, runId)).status).toBe("running");
  return { cardId, runId, release: () => hold.open(), answer };
}

async function makeDue(runId: string) {
  const [s] = await sessionsOfRun(fs.t, runId);
  await fs.t.run(async (ctx: any) => ctx.db.patch(s._id, { reapAt: Date.now() - 1 }));
}
const reap = () => fs.t.mutation(api.reaper.reap, {});

/**
 * The reaper reaps every due session, not just one test's: the tests of the reaper race run their
 * critical section (make due … reap) one at a time, and each ends with a reap that leaves nothing due.
 */
let lock: Promise<unknown> = Promise.resolve();
function exclusive<R>(f: () => Promise<R>): Promise<R> {
  const next = lock.then(f, f);
  lock = next.catch(() => {});
  return next;
}

describe.concurrent("the reaper races a completion", () => {
  test("reaper first: the run ends as idle; the late completion is refused (401); the retry succeeds", async () => {
    const { cardId, runId, release, answer } = await heldCompletion("reaper first");
    await exclusive(async () => {
      await makeDue(runId);
      expect((await reap()).idle).toBe(1);
      release();
      expect(await answer).toBe(401);
    });
    expect((await settle(fs.t, cardId)).status).toBe("done");
    expect((await run(fs.t, runId)).error?.code).toBe("idle_timeout");
    expect((await runsOf(fs.t, cardId)).map((r) => r.status)).toEqual(["failed", "succeeded"]);
    outcomes.push("reaper-first: reaper won");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("completion first: the run is collected and succeeds; the reaper ends nothing", async () => {
    const { cardId, runId, release, answer } = await heldCompletion("completion first");
    await exclusive(async () => {
      await makeDue(runId);
      release();
      expect(await answer).toBe(200);
      expect((await reap()).idle).toBe(0);
    });
    expect((await settle(fs.t, cardId)).status).toBe("done");
    expect((await run(fs.t, runId)).status).toBe("succeeded");
    expect(await runsOf(fs.t, cardId)).toHaveLength(1);
    outcomes.push("completion-first: completion won");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  for (const i of [1, 2, 3]) {
    test(`at the same moment (#${i}): exactly one wins, the card still finishes`, async () => {
      const { cardId, runId, release, answer } = await heldCompletion(`reap race ${i}`);
      const [, reaped, status] = await exclusive(async () => {
        await makeDue(runId);
        return await Promise.all([(async () => release())(), sleep(i * 3).then(reap), answer]);
      });
      expect((await settle(fs.t, cardId)).status).toBe("done");
      const first = await run(fs.t, runId);
      if (status === 200) expect(first.status).toBe("succeeded");
      else expect(first.error?.code).toBe("idle_timeout");
      outcomes.push(`reap race ${i}: ${status === 200 ? "completion" : "reaper"} won (reaper ended ${reaped.idle})`);
      await invariantsHold(fs, [cardId]);
    }, 60_000);
  }
});

describe.concurrent("cancel races a completion", () => {
  test("cancel first: canceled; the late completion is refused; the card is idle", async () => {
    const { cardId, runId, release, answer } = await heldCompletion("cancel first");
    expect((await fs.t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
    release();
    expect(await answer).toBe(401);
    expect((await settle(fs.t, cardId)).status).toBe("idle");
    expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe("running");
    outcomes.push("cancel-first: cancel won");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("completion first, cancel before QA: canceled from collecting; QA's verdict is never applied", async () => {
    const { cardId, runId, release, answer } = await heldCompletion("completion then cancel");
    const qa = actionCalls.hold("qa:beginChecks", (a) => a.runId === runId);
    release();
    expect(await answer).toBe(200);
    await qa.fired.promise;
    expect((await fs.t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
    qa.gate.open();
    expect((await settle(fs.t, cardId)).status).toBe("idle");
    const r = await run(fs.t, runId);
    expect(r.status).toBe("canceled");
    expect(r.qa).toBeUndefined();
    expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe("collecting");
    outcomes.push("completion-then-cancel: canceled from collecting");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  for (const i of [1, 2]) {
    test(`at the same moment (#${i}): the run ends canceled either way`, async () => {
      const { cardId, runId, release, answer } = await heldCompletion(`cancel race ${i}`);
      const [, canceled, status] = await Promise.all([(async () => release())(), sleep(i * 4).then(() => fs.t.mutation(api.runs.cancelRun, { runId })), answer]);
      const c = await settle(fs.t, cardId);
      const r = await run(fs.t, runId);
      // A cancel that lands after QA already passed finds a terminal run and changes nothing.
      if (canceled.canceled) {
        expect(r.status).toBe("canceled");
        expect(c.status).toBe("idle");
      } else {
        expect(r.status).toBe("succeeded");
        expect(c.status).toBe("done");
      }
      outcomes.push(`cancel race ${i}: completion answered ${status}, run ${r.status} (from ${await movedFrom(fs.t, cardId, runId, r.status)})`);
      await invariantsHold(fs, [cardId]);
    }, 60_000);
  }
});

describe.concurrent("cancel in every run state", () => {
  test("queued: before the workflow began; no session is ever created", async () => {
    const cardId = await addCard(fs.t, boardId, "cancel queued");
    // Run and cancel in one transaction (an app mutation doing both), so the workflow cannot begin in between.
    const { runId, canceled } = await fs.t.run(async (ctx: any) => {
      const { runId } = await ctx.runMutation(api.runs.runCard, { cardId, providerHandle: fs.providerHandle, callbackUrl: `${fs.callbacks.url}/plain` });
      return { runId: runId as string, canceled: await ctx.runMutation(api.runs.cancelRun, { runId }) };
    });
    expect(canceled).toEqual({ canceled: true, status: "canceled" });
    expect((await settle(fs.t, cardId)).status).toBe("idle");
    await sleep(1_000);
    expect(await sessionsOfRun(fs.t, runId)).toEqual([]);
    expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe("queued");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("provisioning, while the provider creates the sandbox", async () => {
    const cardId = await addCard(fs.t, boardId, "cancel provisioning (creating)");
    const held = fs.e2b!.hold(cardId, "create");
    const { runId } = await fs.runCard(cardId);
    await held.arrived.promise;
    expect((await fs.t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
    held.release();
    expect((await settle(fs.t, cardId)).status).toBe("idle");
    expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe("provisioning");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("provisioning, after the provider created the sandbox but before it was recorded", async () => {
    const cardId = await addCard(fs.t, boardId, "cancel provisioning (created)");
    const held = actionCalls.hold("sessions:started", (a) => fs.e2b!.cardOfSandbox(String(a.sandboxId)) === cardId);
    const { runId } = await fs.runCard(cardId);
    await held.fired.promise;
    expect(fs.live().some((b) => b.metadata["lakitu.card"] === cardId)).toBe(true);
    expect((await fs.t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
    held.gate.open();
    expect((await settle(fs.t, cardId)).status).toBe("idle");
    expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe("provisioning");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("running: the agent is mid-step", async () => {
    const cardId = await addCard(fs.t, boardId, "cancel running", { scripted_delay_ms: "600000" });
    const { runId } = await fs.runCard(cardId);
    await firstEvent(fs.t, runId, "code");
    expect((await fs.t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
    expect((await settle(fs.t, cardId)).status).toBe("idle");
    expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe("running");
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  for (const [state, hookName] of [
    ["collecting", "qa:beginChecks"],
    ["checking", "qa:recordAndSettle"],
  ] as const) {
    test(`${state}: the QA action held at ${hookName}`, async () => {
      const cardId = await addCard(fs.t, boardId, `cancel ${state}`);
      let runId = "";
      const held = actionCalls.hold(hookName, (a) => a.runId === runId);
      ({ runId } = await fs.runCard(cardId));
      await held.fired.promise;
      expect((await run(fs.t, runId)).status).toBe(state);
      expect((await fs.t.mutation(api.runs.cancelRun, { runId })).canceled).toBe(true);
      held.gate.open();
      expect((await settle(fs.t, cardId)).status).toBe("idle");
      const r = await run(fs.t, runId);
      expect(r.status).toBe("canceled");
      expect(r.qa).toBeUndefined();
      expect(await movedFrom(fs.t, cardId, runId, "canceled")).toBe(state);
      await invariantsHold(fs, [cardId]);
    }, 60_000);
  }
});
