/**
 * A deployment restart mid-run, as far as it can be simulated honestly on convex-test.
 *
 * convex-test keeps the whole deployment (tables, scheduled functions, workflow journal) in one
 * in-process object that cannot be stopped and reloaded, and `workflow.restart` refuses a workflow that
 * is still running ("Workflow is still running"). What a real restart does to a run is two things, and
 * those are what we do: (1) the deployment's HTTP endpoint is unreachable for a while (the callback
 * proxy resets every connection of the run's profile) and the runtime must ride it out; (2) an action
 * that was executing is lost: its next call to a mutation fails, before or after that mutation
 * committed, so the workpool retries the step and the workflow handler replays its journal. After each,
 * the journal must have the same steps as an undisturbed run, and every invariant must hold.
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
  invariantsHold,
  journal,
  run,
  runsOf,
  settle,
  waitFor,
  type FaultStack,
} from "./harness.js";
import { listAll } from "../../convex/testing/listAll.js";

let fs: FaultStack;
let boardId: string;
const NORMAL = ["function:workflow:begin", "function:sessions:provision", "event:agent_done", "function:qa:settleRun"];

beforeAll(async () => {
  // A 20 s heartbeat timeout: a restart of a few seconds must not look like a dead sandbox (a runtime
  // silent for longer than the timeout is, correctly, taken for dead).
  fs = await faultStack({ heartbeatTimeoutMs: 20_000, e2bProxy: true });
  // A short deadline: a run nobody settles shows up as stuck within the test.
  ({ boardId } = await board(fs.t, "restarts", { maxAttempts: 2, maxDurationMs: 25_000 }));
}, 60_000);
afterAll(async () => {
  try {
    if (fs) await everythingHolds(fs);
  } finally {
    await fs?.close();
    console.log(`callback proxy: faults applied ${JSON.stringify(fs?.callbacks.applied)}`);
    reportFile(import.meta.url);
  }
}, 60_000);

async function finishesUndisturbed(cardId: string, runId: string, workflowId: string) {
  const c = await settle(fs.t, cardId, 60_000);
  expect((await runsOf(fs.t, cardId)).map((r) => `${r.attempt}:${r.status}:${r.error?.code ?? ""}`)).toEqual(["1:succeeded:"]);
  expect(c.status).toBe("done");
  expect(await journal(fs.t, workflowId)).toEqual(NORMAL);
  const events = await listAll(fs.t, api.events.listEvents, { runId });
  expect(events.at(-1)?.text).toBe("finished: succeeded");
  await invariantsHold(fs, [cardId]);
}

describe.concurrent("a restart mid-run", () => {
  test("the HTTP endpoint is gone for 3 s while the agent works, and again for 3 s when it uploads: the runtime rides both out", async () => {
    const cardId = await addCard(fs.t, boardId, "http outage", { scripted_delay_ms: "2000" });
    let outages = 0;
    const profile = fs.callbacks.script("outage", (r) => {
      if (r.route === "artifacts" && outages === 1) {
        outages++;
        fs.callbacks.down(3_000, "outage");
        return { kind: "reset" };
      }
      return { kind: "forward" };
    });
    const { runId, workflowId } = await fs.runCard(cardId, profile);
    await firstEvent(fs.t, runId, "code");
    outages++;
    fs.callbacks.down(3_000, "outage");
    await finishesUndisturbed(cardId, runId, workflowId);
    expect(outages).toBe(2);
    expect(fs.callbacks.applied.down).toBeGreaterThan(0);
  }, 90_000);

  for (const [name, mode] of [
    ["sessions:setTokenHash", "after"],
    ["sessions:started", "after"],
  ] as const) {
    test(`the provision action is lost right after ${name} committed: the step is retried, the journal replays, the agent is not abandoned`, async () => {
      const cardId = await addCard(fs.t, boardId, `lost after ${name}`);
      let runId = "";
      const hook = actionCalls.fail(name, (_a, action) => action.runId === runId, mode);
      const started = await fs.runCard(cardId);
      runId = started.runId;
      await waitFor("the action to be interrupted", () => hook.hits === 1, 20_000);
      await finishesUndisturbed(cardId, runId, started.workflowId);
      expect(fs.e2b!.seen.filter((x) => x.op === "create" && x.cardId === cardId)).toHaveLength(1);
    }, 90_000);
  }

  for (const [name, mode, state] of [
    ["qa:beginChecks", "before", "collecting"],
    ["qa:beginChecks", "after", "checking"],
    ["qa:recordAndSettle", "after", "succeeded"],
  ] as const) {
    test(`the QA action is lost ${mode === "before" ? "before" : "right after"} ${name} (run ${state}): QA is retried, the verdict is applied and the card settled once`, async () => {
      const cardId = await addCard(fs.t, boardId, `qa lost ${mode} ${name}`);
      let runId = "";
      const hook = actionCalls.fail(name, (_a, action) => action.runId === runId, mode);
      const started = await fs.runCard(cardId);
      runId = started.runId;
      await waitFor("the QA action to be interrupted", () => hook.hits === 1, 30_000);
      await finishesUndisturbed(cardId, runId, started.workflowId);
      expect((await run(fs.t, runId)).qa?.ok).toBe(true);
    }, 90_000);
  }
});
