/**
 * Orchestration cost per run: Convex function calls, workflow journal steps and document writes for a
 * run whose agent works 1 minute vs 60 minutes, in fake time (convex-test with @sinonjs/fake-timers, as
 * the component tests run it), next to a polling baseline.
 *
 * Method. The benchmark builds its own convex-test instance of the component (and of its workflow,
 * workpool, batch-worker and agent components) from the same module files, with every registered
 * function wrapped by the embedded deployment's counter (cli/embedded/counters.ts): each execution of a
 * query, mutation, action or workflow handler, in any component, scheduled or called, counts as one
 * function call, and each top-level mutation adds the documents it wrote
 * (`ctx.meta.getTransactionMetrics().documentsWritten`, nested mutations included). Calls are
 * attributed by function name: `runtime:*` / `gateway:*` are the runtime's own requests (heartbeats
 * every 15 s, an event a minute, the upload and the completion — traffic any design receives);
 * `reaper:reap` is the app's cron (once a minute); everything else is orchestration: the workflow and
 * its steps, the workpool, sessions, QA, the watchdog, the provider. The sandbox is the in-memory test
 * provider; the runtime is simulated over `t.fetch` (the component's HTTP routes).
 *
 * The polling baseline is measured, not modelled: a real polling workflow (bench/pollWorkflow.ts: one
 * `runQuery` of the run's status and one `sleep` per period) runs on the same workflow component beside
 * an identical run; its cost is what the run with the poller costs. The naive baseline (bench/naivePoller.ts)
 * is the design a user writes first: one action asking the provider for the sandbox's status every
 * second, beside an identical run the same way; it stops at Convex's 10-minute action limit.
 */
import { convexTest } from "convex-test";
import FakeTimers from "@sinonjs/fake-timers";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createFunctionHandle, makeFunctionReference } from "convex/server";
import { api } from "../convex/component/_generated/api.js";
import { COMPONENT_DIR } from "../cli/embedded/deployment.js";
import { FunctionCounter } from "../cli/embedded/counters.js";
import { moduleMap, registerChildren } from "../cli/embedded/modules.js";
import { workflow } from "../convex/model/workflowManager.js";
import { testProvider } from "../convex/testkit/provider.js";
import { lastWatch } from "./naivePoller.js";
import type { Row } from "./stats.js";

/** Builds the benchmark's convex-test instance with every function of every component counted. */
async function makeCountedTest(counter: FunctionCounter) {
  const schema = (await import(pathToFileURL(join(COMPONENT_DIR, "schema.ts")).href)).default;
  const t = convexTest(
    schema,
    counter.modules({
      ...moduleMap(COMPONENT_DIR, [".ts"]),
      "./lakituProvider.ts": () => import("../convex/testkit/provider.js"),
      "./benchPoll.ts": () => import("./pollWorkflow.js"),
      "./benchNaive.ts": () => import("./naivePoller.js"),
    }),
  );
  await registerChildren(counter.attach(t));
  return t;
}

type Baseline = { kind: "poll" | "naive"; everyMs: number } | null;
type Measured = { watch?: { polls: number; outcome: string }; journal: number; calls: { orchestration: number; runtime: number; cron: number }; writes: { orchestration: number; runtime: number; cron: number }; requests: number };

const category = (key: string) => (/^(runtime|gateway):/.test(key) ? "runtime" : key.startsWith("reaper:") ? "cron" : "orchestration");

type Clock = ReturnType<typeof FakeTimers.install>;

async function scenario(clock: Clock, durationMs: number, baseline: Baseline): Promise<Measured> {
  testProvider.reset();
  const counter = new FunctionCounter();
  const t = await makeCountedTest(counter);
  // The naive watcher sleeps on the fake clock between polls: before the clock moves on, let it make its
  // poll and sleep again (real event-loop turns), so it polls at its 1 s cadence in fake time.
  const watcherAsleep = async () => {
    for (let i = 0; baseline?.kind === "naive" && lastWatch.polls > 0 && lastWatch.armed < lastWatch.polls && !lastWatch.outcome && i < 100_000; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.tick(0); // zero-delay timers convex-test arms on the way (due now, not later)
    }
  };
  const advance = async (ms: number, slice = 500) => {
    for (let e = 0; e < ms; e += slice) {
      clock.tick(Math.min(slice, ms - e));
      await watcherAsleep();
      await t.finishInProgressScheduledFunctions();
    }
  };
  const until = async (what: string, cond: () => Promise<boolean>, maxMs = 120_000) => {
    for (let e = 0; e <= maxMs; e += 100) {
      if (await cond()) return;
      await advance(100, 100);
    }
    throw new Error(`orchestration bench: ${what} not reached`);
  };
  const providerHandle: string = await t.run(async () => await createFunctionHandle(makeFunctionReference<"action">("lakituProvider:provider")));
  const { boardId } = await t.mutation(api.boards.createBoard, {
    name: "orchestration",
    stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }], limits: { maxDurationMs: 3 * 3_600_000 } }, { name: "Done", kind: "done" }],
  });
  const cardId = await t.mutation(api.cards.addCard, { boardId, title: "orchestration" });

  const before = counter.snapshot();
  let requests = 0;
  const { runId, workflowId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: "http://lakitu.bench" });
  await until("the sandbox", async () => (await t.query(api.runs.getRun, { runId }))?.status === "running");
  const env = testProvider.latest().envs;
  const post = async (path: string, body: BodyInit, contentType = "application/json") => {
    requests++;
    const r = await t.fetch(`/${path}`, { method: "POST", headers: { authorization: `Bearer ${env.LAKITU_TOKEN}`, "x-lakitu-generation": env.LAKITU_GENERATION, "content-type": contentType }, body });
    if (r.status !== 200) throw new Error(`/${path} answered ${r.status}: ${await r.text()}`);
  };
  let pollId: string | undefined;
  const startPoll = makeFunctionReference<"mutation", { runId: string; everyMs: number }, string>("benchPoll:startPoll");
  if (baseline?.kind === "poll") pollId = await t.mutation(startPoll, { runId, everyMs: baseline.everyMs });
  if (baseline?.kind === "naive") {
    Object.assign(lastWatch, { polls: 0, armed: 0, outcome: "" });
    // Called, not scheduled: convex-test's scheduler would wait for the action, which waits for the clock.
    const watchRef = makeFunctionReference<"action", { providerHandle: string; sandboxId: string; everyMs: number }>("benchNaive:watch");
    void t.action(watchRef, { providerHandle, sandboxId: testProvider.latest().sandboxId, everyMs: baseline.everyMs }).catch((e) => {
      lastWatch.outcome = `failed: ${e instanceof Error ? e.message : String(e)}`;
    });
  }
  let seq = 0;
  for (let elapsed = 0; elapsed < durationMs; elapsed += 15_000) {
    await post("heartbeat", "{}");
    if (elapsed % 60_000 === 0) {
      await post("events", JSON.stringify({ events: [{ seq: seq++, kind: "log", text: `working, ${elapsed / 60_000} min in` }] }));
      await t.mutation(api.reaper.reap, {});
    }
    await advance(Math.min(15_000, durationMs - elapsed));
  }
  await post("artifacts?name=report.md&type=markdown", "# Report\n\nOtters again.\n", "text/markdown");
  await post("complete", JSON.stringify({ status: "succeeded", summary: "done", manifest: [{ name: "report.md" }] }));
  const done = async (id: string) => (await t.run(async (ctx) => await workflow.status(ctx, id as never))).type === "completed";
  await until(
    "the card to be done",
    async () =>
      (await t.query(api.cards.getCard, { cardId }))?.status === "done" &&
      (await done(workflowId)) &&
      (pollId === undefined || (await done(pollId))) &&
      (baseline?.kind !== "naive" || lastWatch.outcome !== ""),
  );
  await advance(10_000); // the sandbox kill and anything else the end of the run scheduled

  const steps = async (id: string) =>
    await t.run(async (ctx) => {
      let n = 0;
      let cursor: string | null = null;
      for (;;) {
        const page: any = await workflow.listSteps(ctx, id as never, { paginationOpts: { numItems: 200, cursor } });
        n += page.page.length;
        if (page.isDone) return n;
        cursor = page.continueCursor;
      }
    });
  const journal = (await steps(workflowId)) + (pollId ? await steps(pollId) : 0);
  const counted = counter.since(before).byFunction;
  const sum = (figure: "calls" | "documentsWritten", c: string) =>
    Object.entries(counted).filter(([k]) => category(k) === c).reduce((a, [, n]) => a + n[figure], 0);
  return {
    ...(baseline?.kind === "naive" ? { watch: { ...lastWatch } } : {}),
    journal,
    requests,
    calls: { orchestration: sum("calls", "orchestration"), runtime: sum("calls", "runtime"), cron: sum("calls", "cron") },
    writes: { orchestration: sum("documentsWritten", "orchestration"), runtime: sum("documentsWritten", "runtime"), cron: sum("documentsWritten", "cron") },
  };
}

export async function orchestrationCost(opts: { minutes?: [number, number]; pollEveryMs?: number } = {}): Promise<Row[]> {
  const [short, long] = opts.minutes ?? [1, 60];
  const pollEveryMs = opts.pollEveryMs ?? 30_000;
  // Native timers already running (keep-alive sockets of earlier sections) may be cleared while the
  // fake clock is installed; let the fake clearTimeout clear them for real.
  const clock = FakeTimers.install({ now: Date.now(), toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"], shouldClearNativeTimers: true });
  try {
    const ours1 = await scenario(clock, short * 60_000, null);
    const ours60 = await scenario(clock, long * 60_000, null);
    const poll1 = await scenario(clock, short * 60_000, { kind: "poll", everyMs: pollEveryMs });
    const poll60 = await scenario(clock, long * 60_000, { kind: "poll", everyMs: pollEveryMs });
    const naive1 = await scenario(clock, short * 60_000, { kind: "naive", everyMs: 1_000 });
    const naive60 = await scenario(clock, long * 60_000, { kind: "naive", everyMs: 1_000 });
    const pair = (a: number, b: number) => `${a} / ${b}`;
    const growth = (a: number, b: number) => (a === b ? "flat" : `${b >= a ? "+" : ""}${b - a}`);
    const label = `agent ${short} min / ${long} min`;
    return [
      {
        section: "orchestration",
        metric: `workflow journal steps per run (${label}; baseline polls every ${pollEveryMs / 1000} s)`,
        value: pair(ours1.journal, ours60.journal),
        baseline: pair(poll1.journal, poll60.journal),
        ratio: `ours ${growth(ours1.journal, ours60.journal)}; ${(poll60.journal / ours60.journal).toFixed(0)}x at ${long} min`,
      },
      {
        section: "orchestration",
        metric: `orchestration function calls per run (${label})`,
        value: pair(ours1.calls.orchestration, ours60.calls.orchestration),
        baseline: pair(poll1.calls.orchestration, poll60.calls.orchestration),
        ratio: `ours ${growth(ours1.calls.orchestration, ours60.calls.orchestration)}; ${(poll60.calls.orchestration / ours60.calls.orchestration).toFixed(1)}x at ${long} min`,
      },
      {
        section: "orchestration",
        metric: `orchestration document writes per run (${label})`,
        value: pair(ours1.writes.orchestration, ours60.writes.orchestration),
        baseline: pair(poll1.writes.orchestration, poll60.writes.orchestration),
        ratio: `ours ${growth(ours1.writes.orchestration, ours60.writes.orchestration)}; ${(poll60.writes.orchestration / ours60.writes.orchestration).toFixed(1)}x at ${long} min`,
      },
      {
        section: "orchestration",
        metric: `naive baseline, one action polling the sandbox every 1 s: its own function calls / writes beside the same run (${label})`,
        value: "0 / 0 (the workflow waits on an event)",
        baseline: `${pair(naive1.calls.orchestration - ours1.calls.orchestration, naive60.calls.orchestration - ours60.calls.orchestration)} calls · ${pair(naive1.writes.orchestration - ours1.writes.orchestration, naive60.writes.orchestration - ours60.writes.orchestration)} writes`,
        ratio: `run + watcher: ${(naive1.calls.orchestration / ours1.calls.orchestration).toFixed(1)}x / ${(naive60.calls.orchestration / ours60.calls.orchestration).toFixed(1)}x the calls`,
      },
      {
        section: "orchestration",
        metric: `naive baseline: how its watch ended (${label})`,
        value: "the workflow has no time limit",
        baseline: `${naive1.watch!.outcome}, ${naive1.watch!.polls} polls / ${naive60.watch!.outcome}, ${naive60.watch!.polls} polls`,
      },
      {
        section: "orchestration",
        metric: `runtime's own requests → function calls / writes (${label}; any design)`,
        value: `${ours1.requests}→${ours1.calls.runtime}/${ours1.writes.runtime} · ${ours60.requests}→${ours60.calls.runtime}/${ours60.writes.runtime}`,
      },
      {
        section: "orchestration",
        metric: `app's reaper cron (1/min) → function calls / writes (${label})`,
        value: `${ours1.calls.cron}/${ours1.writes.cron} · ${ours60.calls.cron}/${ours60.writes.cron}`,
      },
    ];
  } finally {
    clock.uninstall();
  }
}
