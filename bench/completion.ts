/**
 * Completion detection: from the runtime's `complete` to the card advanced.
 *
 * Ours: the `complete` mutation wakes the run's workflow through its one `awaitEvent`; the workflow
 * collects, runs QA and advances the card. Measured from just before the runtime's POST /complete to the
 * card's transition row to Done (its _creationTime, same clock).
 *
 * Baseline: a real poller running in the bench beside each run, reading the run's status every 1 s from
 * a random phase (as a cron or polling loop would), which "detects" the completion at its first tick
 * that sees the run past `running`. It is then charged the same QA + settle work ours does after
 * detection — the time from our `checking` row to our Done row — but not our wake-up (the workflow
 * replay and the kill before QA), which favours the baseline.
 *
 * The floor (bench/hopFloor.ts), measured in the same run and interleaved with ours: an event waking a
 * bare workflow that runs one action calling one mutation, the least any design that waits on a
 * workflow event can do after the event.
 *
 * Runs on the embedded deployment (real timers) with the test provider; the runtime is simulated over
 * real HTTP with the session token (the sandbox plays no part in this latency).
 */
import { api } from "../convex/component/_generated/api.js";
import { startEmbeddedDeployment } from "../cli/embedded/deployment.js";
import { testProvider } from "../convex/testkit/provider.js";
import { WORKPOOL_QUIET_MS, median, ms, p95, type Row } from "./stats.js";
import { listAll } from "../convex/testing/listAll.js";
import { makeFunctionReference } from "convex/server";
import { workflow } from "../convex/model/workflowManager.js";
import { reached, sent } from "./hopFloor.js";

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
/** Quiet time before the completion (and before the floor's event). */
const IDLE_BEFORE_MS = WORKPOOL_QUIET_MS;
const REPORT = "# Report\n\nSea otters use rocks as tools to open shellfish.\n";

export async function completionDetection(samples = 20, pollEveryMs = 1_000): Promise<Row[]> {
  testProvider.reset();
  const d = await startEmbeddedDeployment({
    providerModule: () => import("../convex/testkit/provider.js"),
    extraModules: { benchFloor: () => import("./hopFloor.js") },
  });
  try {
    const { t, url, providerHandle } = d;
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "completion",
      stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }] }, { name: "Done", kind: "done" }],
    });
    const ours: number[] = [];
    const polled: number[] = [];
    const detectOnly: number[] = [];
    const floors: number[] = [];
    // Timed inside the mutation that sends the event: ours from the complete mutation (its run row to
    // collecting), the floor's from its go mutation; both to the last mutation (the card's Done row, mark).
    const oursHop: number[] = [];
    const floorHops: number[] = [];
    const toChecking: number[] = [];
    const checkingToDone: number[] = [];
    // The floor: an event wakes a bare workflow, which runs one action calling one mutation.
    const floorSample = async (i: number) => {
      const id = `floor-${i}`;
      const workflowId = await t.mutation(makeFunctionReference<"mutation", { id: string }, string>("benchFloor:start"), { id });
      for (let waited = 0; !(await waiting(workflowId)); waited += 10) {
        if (waited > 10_000) throw new Error("the floor workflow never reached its event");
        await sleep(10);
      }
      await sleep(IDLE_BEFORE_MS);
      const t0 = Date.now();
      await t.mutation(makeFunctionReference<"mutation", { workflowId: string; id: string }, null>("benchFloor:go"), { workflowId, id });
      while (!reached.has(id)) await sleep(5);
      floors.push(reached.get(id)! - t0);
      floorHops.push(reached.get(id)! - sent.get(id)!);
    };
    const waiting = async (workflowId: string) =>
      await t.run(async (ctx) => (await workflow.listSteps(ctx, workflowId as never, { paginationOpts: { numItems: 10, cursor: null } })).page.some((s: { kind: string }) => s.kind === "event"));
    for (let i = 0; i < samples; i++) {
      // Floor and ours alternate which goes first, so drift in the machine's load hits both alike.
      if (i % 2 === 0) await floorSample(i);
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: `completion ${i}` });
      const { runId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
      while ((await t.query(api.runs.getRun, { runId }))?.status !== "running") await sleep(5);
      const env = testProvider.alive().find((s) => s.metadata["lakitu.run"] === runId)!.envs;
      const headers = { authorization: `Bearer ${env.LAKITU_TOKEN}`, "x-lakitu-generation": env.LAKITU_GENERATION };
      // Retried on 5xx as the runtime does (convex-test refuses a blob write that overlaps another transaction).
      for (let tries = 1; ; tries++) {
        const up = await fetch(`${url}/artifacts?name=report.md&type=markdown`, { method: "POST", headers: { ...headers, "content-type": "text/markdown" }, body: REPORT });
        if (up.ok) break;
        if (up.status < 500 || tries >= 20) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
        await sleep(50);
      }

      // The baseline poller: ticks every second from a random phase relative to the completion.
      let detectedAt = 0;
      let stop = false;
      const poller = (async () => {
        await sleep(Math.random() * pollEveryMs);
        while (!stop) {
          const status = (await t.query(api.runs.getRun, { runId }))?.status;
          if (status !== undefined && status !== "provisioning" && status !== "running") {
            detectedAt = Date.now();
            return;
          }
          await sleep(pollEveryMs);
        }
      })();
      // An agent works for seconds at least: by the time it completes, the workpool has gone idle after
      // the provision step (its loop polls for 2 s after work, then sleeps until pinged), as it has
      // for the floor. The poller is mid-cycle at a uniformly random point when complete comes.
      await sleep(IDLE_BEFORE_MS);
      const t0 = Date.now();
      const r = await fetch(`${url}/complete`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ status: "succeeded", summary: "done", manifest: [{ name: "report.md" }] }),
      });
      if (!r.ok) throw new Error(`complete failed: ${r.status} ${await r.text()}`);
      // (The times come from the audit rows, not from this wait.)
      while ((await t.query(api.cards.getCard, { cardId }))?.status !== "done") await sleep(20);
      await poller;
      stop = true;
      const rows = (await listAll(t, api.runs.listTransitions, { cardId })).reverse();
      const doneAt = rows.find((x) => x.entity === "card" && x.to.startsWith("done"))!.at;
      const checkingAt = rows.find((x) => x.entity === "run" && x.to === "checking")!.at;
      const collectingAt = rows.find((x) => x.entity === "run" && x.to === "collecting")!.at;
      ours.push(doneAt - t0);
      oursHop.push(doneAt - collectingAt);
      toChecking.push(checkingAt - collectingAt);
      checkingToDone.push(doneAt - checkingAt);
      detectOnly.push(detectedAt - t0);
      polled.push(detectedAt - t0 + (doneAt - checkingAt));
      if (i % 2 === 1) await floorSample(i);
    }
    const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x slower (baseline)`;
    return [
      {
        section: "completion",
        metric: `complete → card advanced, median (${samples} runs; baseline polls every ${pollEveryMs / 1000} s)`,
        value: ms(median(ours)),
        baseline: ms(median(polled)),
        ratio: ratio(median(polled), median(ours)),
      },
      { section: "completion", metric: "complete → card advanced, p95", value: ms(p95(ours)), baseline: ms(p95(polled)), ratio: ratio(p95(polled), p95(ours)) },
      { section: "completion", metric: "complete → completion noticed (baseline: its poll), median / p95", value: "in the same mutation", baseline: `${ms(median(detectOnly))} / ${ms(p95(detectOnly))}` },
      {
        section: "completion",
        metric: `complete → card advanced vs the floor: an event waking a bare workflow that runs one action calling one mutation; both timed from the mutation sending the event (ours: complete) to the last mutation (median, ${samples} each, interleaved; target ≤ 1.5x)`,
        value: `${ms(median(oursHop))} (p95 ${ms(p95(oursHop))})`,
        baseline: `${ms(median(floorHops))} (p95 ${ms(p95(floorHops))})`,
        ratio: `${(median(oursHop) / median(floorHops)).toFixed(2)}x the floor (target ≤ 1.5x: ${median(oursHop) <= 1.5 * median(floorHops) ? "met" : "missed"})`,
      },
      {
        section: "completion",
        metric: "ours by part (median): complete → checking (the workflow woken, settleRun started, sandbox kill asked, run checking) / checking → card advanced (QA's read, the verdict, the card)",
        value: `${ms(median(toChecking))} / ${ms(median(checkingToDone))}`,
      },
      {
        section: "completion",
        metric: "the same, ours from the runtime's POST /complete (its HTTP request included), the floor from the test's call of its event mutation",
        value: ms(median(ours)),
        baseline: ms(median(floors)),
        ratio: `${(median(ours) / median(floors)).toFixed(2)}x`,
      },
    ];
  } finally {
    await d.close();
  }
}
