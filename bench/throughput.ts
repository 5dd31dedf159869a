/**
 * Many cards at once, with sandboxes and without, in the same run, and where the CPU goes.
 *
 * - With sandboxes: the whole local stack (`startLocalStack`): the E2B provider (official SDK) against
 *   the local sandbox host, each runtime in its own bubblewrap sandbox (own namespaces and uids, no
 *   network, reaching the component through the host's bridge socket).
 * - Without sandboxes (the floor): the same board, cards, component (the embedded deployment),
 *   workflow, scripted model and runtime bundle, but the provider (`cli/embedded/processProvider.ts`)
 *   starts each runtime as a plain child process of this one, reaching the deployment over a unix socket
 *   the deployment serves itself (the sandboxed runtime's transport, without the host's bridge hop): no
 *   sandbox host, no E2B SDK, no bubblewrap, no namespaces, no agent user. (Over loopback TCP with the
 *   runtime's default fetch instead, the runtimes use more CPU than in sandboxes: undici's fetch costs
 *   more than node:http on a socket.)
 * Both run on fresh deployments after an untimed warm-up of a few cards of each (so neither pays for
 * the other's JIT warm-up); the order alternates from one card count to the next.
 *
 * CPU (bench/cpu.ts): this process (convex-test, the HTTP bridge, the sandbox host, the provider) with
 * `process.cpuUsage`; the processes it started (runtimes, executors, sandbox inits, bubblewrap) from
 * the kernel's child times; and this process's main thread split by code from a sampling profile
 * (taken in both variants alike). The window runs from the first runCard until every runtime exited.
 */
import { join } from "node:path";
import { api } from "../convex/component/_generated/api.js";
import { ensureRuntimeBundle, startLocalStack } from "../cli/embedded/stack.js";
import { startEmbeddedDeployment, type EmbeddedDeployment } from "../cli/embedded/deployment.js";
import { closeProcessProvider, configureProcessProvider, liveProcesses } from "../cli/embedded/processProvider.js";
import { listAll } from "../convex/testing/listAll.js";
import { cpuWindow, profileMainThread, type CpuWindow, type ProfileSplit } from "./cpu.js";
import { median, ms, p95, type Row } from "./stats.js";

/** The target of issue 15: cards with sandboxes within this factor of the same cards without. */
export const TARGET_SANDBOX_RATIO = 2.5;

type Variant = "sandboxes" | "plain";
type Env = { deployment: EmbeddedDeployment; runtimesLeft(): number; close(): Promise<void> };
type Measured = { wall: number; durations: number[]; peakRss: number; cpu: CpuWindow; split: ProfileSplit; runtimesLeft: number };

async function environment(variant: Variant): Promise<Env> {
  if (variant === "sandboxes") {
    const s = await startLocalStack({ warn: () => {}, maxSandboxes: 128 });
    return { deployment: s.deployment, runtimesLeft: () => s.host.list().length, close: () => s.close() };
  }
  const { componentSocket } = configureProcessProvider({ runtimeMain: join(await ensureRuntimeBundle(), "main.js") });
  const deployment = await startEmbeddedDeployment({ providerModule: () => import("../cli/embedded/processProvider.js"), socketPath: componentSocket });
  return {
    deployment,
    runtimesLeft: liveProcesses,
    close: async () => {
      await deployment.close();
      await closeProcessProvider();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runCards(variant: Variant, cards: number, opts: { profile: boolean }): Promise<Measured> {
  const env = await environment(variant);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  try {
    const { t, url, providerHandle } = env.deployment;
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: `concurrency ${cards} ${variant}`,
      stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }] }, { name: "Done", kind: "done" }],
    });
    const ids = [];
    for (let i = 0; i < cards; i++) ids.push(await t.mutation(api.cards.addCard, { boardId, title: `card ${i}` }));
    const stopProfile = opts.profile ? await profileMainThread() : undefined;
    const endCpu = cpuWindow();
    const t0 = performance.now();
    await Promise.all(ids.map((cardId) => t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url })));
    const deadline = Date.now() + 15 * 60_000;
    let done = 0;
    while (Date.now() < deadline) {
      const list = await listAll(t, api.cards.listCards, { boardId });
      done = list.filter((c) => c.status === "done").length;
      const stuck = list.filter((c) => c.status === "blocked" || c.status === "error");
      if (stuck.length) throw new Error(`throughput (${variant}): ${stuck.length} card(s) ${stuck[0].status}: ${stuck[0].note}`);
      if (done === cards) break;
      await sleep(100);
    }
    const wall = performance.now() - t0;
    if (done !== cards) throw new Error(`throughput (${variant}): only ${done} of ${cards} cards finished`);
    // The runtimes' CPU is complete once they exited and were reaped (the run's end kills the sandbox).
    for (let waited = 0; env.runtimesLeft() > 0 && waited < 20_000; waited += 100) await sleep(100);
    await sleep(200);
    const cpu = endCpu();
    const split = stopProfile ? await stopProfile() : [];
    const durations: number[] = [];
    for (const cardId of ids) {
      const [run] = await listAll(t, api.runs.listRuns, { cardId });
      durations.push((run.endedAt ?? 0) - run.queuedAt);
    }
    return { wall, durations, peakRss, cpu, split, runtimesLeft: env.runtimesLeft() };
  } finally {
    clearInterval(sampler);
    await env.close();
  }
}

let warmedUp = false;
let round = 0;

export async function concurrent(cards: number): Promise<Row[]> {
  if (!warmedUp) {
    for (const v of ["plain", "sandboxes"] as const) await runCards(v, 5, { profile: false });
    warmedUp = true;
  }
  const order: Variant[] = round++ % 2 === 0 ? ["plain", "sandboxes"] : ["sandboxes", "plain"];
  const m = {} as Record<Variant, Measured>;
  for (const v of order) m[v] = await runCards(v, cards, { profile: true });
  const sec = (x: number) => `${(x / 1000).toFixed(1)} s`;
  const ratio = m.sandboxes.wall / m.plain.wall;
  const verdict = ratio <= TARGET_SANDBOX_RATIO ? "met" : "missed";
  const rows: Row[] = [
    {
      section: "throughput",
      metric: `${cards} cards at once: all done, wall time (baseline: the same without sandboxes, runtimes as plain child processes on a unix socket; ${order.join(" first, then ")})`,
      value: sec(m.sandboxes.wall),
      baseline: sec(m.plain.wall),
      ratio: `${ratio.toFixed(2)}x (target ≤ ${TARGET_SANDBOX_RATIO}x: ${verdict})`,
    },
    {
      section: "throughput",
      metric: `${cards} cards: run queued→ended, median / p95`,
      value: `${ms(median(m.sandboxes.durations))} / ${ms(p95(m.sandboxes.durations))}`,
      baseline: `${ms(median(m.plain.durations))} / ${ms(p95(m.plain.durations))}`,
    },
    { section: "throughput", metric: `${cards} cards: wall time per card`, value: ms(m.sandboxes.wall / cards), baseline: ms(m.plain.wall / cards) },
    {
      section: "throughput",
      metric: `${cards} cards: peak RSS of the host process`,
      value: `${(m.sandboxes.peakRss / 2 ** 20).toFixed(0)} MiB`,
      baseline: `${(m.plain.peakRss / 2 ** 20).toFixed(0)} MiB`,
    },
    ...cpuRows(cards, m),
  ];
  return rows;
}

/** CPU seconds by category, % of the variant's total and per card; with sandboxes, beside without. */
function cpuRows(cards: number, m: Record<Variant, Measured>): Row[] {
  const cell = (x: Measured, s: number) => {
    const total = x.cpu.hostS + x.cpu.childrenS;
    return `${s.toFixed(1)} s · ${((100 * s) / total).toFixed(0)}% · ${((1000 * s) / cards).toFixed(0)} ms/card`;
  };
  const rows: Row[] = [];
  const add = (metric: string, f: (x: Measured) => number, ratio = true) => {
    const [a, b] = [f(m.sandboxes), f(m.plain)];
    rows.push({ section: "throughput", metric: `${cards} cards, CPU: ${metric} (s · % of the variant's total · per card)`, value: cell(m.sandboxes, a), baseline: cell(m.plain, b), ratio: ratio && b > 0 ? `${(a / b).toFixed(2)}x` : "" });
  };
  add("all processes", (x) => x.cpu.hostS + x.cpu.childrenS);
  add("host process (convex-test, HTTP, sandbox host, provider; all threads)", (x) => x.cpu.hostS);
  add("runtimes and their sandboxes (child processes)", (x) => x.cpu.childrenS);
  // The host's share by code: its main thread's profile, scaled to the host's CPU time.
  const categories = [...new Set([...m.sandboxes.split, ...m.plain.split].map((c) => c.category))];
  const share = (x: Measured, c: string) => x.split.find((s) => s.category === c)?.share ?? 0;
  categories.sort((a, b) => share(m.sandboxes, b) - share(m.sandboxes, a));
  for (const c of categories) {
    if (Math.max(share(m.sandboxes, c), share(m.plain, c)) < 0.01) continue;
    add(`host: ${c}`, (x) => x.cpu.hostS * share(x, c));
  }
  const left = (x: Measured) => x.runtimesLeft;
  if (left(m.sandboxes) || left(m.plain)) {
    rows.push({ section: "throughput", metric: `${cards} cards: runtimes not yet exited when CPU was read (their CPU so far counted)`, value: String(left(m.sandboxes)), baseline: String(left(m.plain)) });
  }
  return rows;
}
