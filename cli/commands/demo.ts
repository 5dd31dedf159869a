/**
 * `lakitu demo`: a real board run end to end on this machine with no keys and no network — the
 * component on convex-test, sandboxes on the local host (bubblewrap when available) driven by the E2B
 * SDK, the runtime inside them, and the scripted model. One stage fails QA once and recovers on retry,
 * a reviewer approves, an idle sandbox is reaped, and a card whose step budget runs out is paused and
 * then resumed with a raised budget. Exits 0 only if the card reached Done, the final QA of every stage
 * passed, the idle sandbox was reaped and the paused card finished after its resume.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { api } from "../../convex/component/_generated/api.js";
import type { PublicRun } from "../../convex/model/public.js";
import { startLocalStack, type LocalStack } from "../embedded/stack.js";
import { c, line } from "../output.js";
import { lakituPackage } from "../build/packageRoot.js";
import { loadDashboard } from "../dev/assets.js";
import { serveDev } from "../dev/server.js";
import { DEFAULT_DEV_PORT } from "../dev/start.js";

type T = LocalStack["deployment"]["t"];

const STAGES = [
  {
    name: "Research",
    kind: "agent" as const,
    goals: ["Collect what is known about the topic", "List sources worth citing"],
    deliverables: [
      { name: "notes.md", type: "markdown" as const, checks: { minWords: 60 } },
      { name: "sources.json", type: "json" as const, checks: { jsonSchema: JSON.stringify({ type: "array", minItems: 1, items: { type: "object", required: ["title"], properties: { title: { type: "string" } } } }) } },
    ],
    autoAdvance: true,
  },
  {
    name: "Draft",
    kind: "agent" as const,
    goals: ["Write the article from the notes", "Tabulate the key figures"],
    deliverables: [
      { name: "article.md", type: "markdown" as const, checks: { minWords: 120 } },
      { name: "figures.csv", type: "csv" as const },
      { name: "article.pdf", type: "pdf" as const },
    ],
    autoAdvance: true,
  },
  {
    name: "Review",
    kind: "agent" as const,
    goals: ["Check the article against the notes and write a verdict"],
    deliverables: [{ name: "review.md", type: "markdown" as const, checks: { minWords: 40 } }],
    requiresApproval: true,
    autoAdvance: true,
  },
  { name: "Done", kind: "done" as const },
];

export type DemoOptions = {
  /** Where the artifacts are written (default .lakitu/demo). */
  out?: string;
  /** Keep the stack and the dashboard running after the tour until `signal` aborts (Ctrl-C). */
  keep?: { signal: AbortSignal };
  /** The dashboard's port (default 4777, or any free one when that is taken). */
  port?: number;
};

export async function demo(opts: DemoOptions = {}): Promise<number> {
  const outRoot = resolve(opts.out ?? join(".lakitu", "demo"));
  const t0 = Date.now();
  const elapsed = () => c.dim(`${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`);
  line(c.bold("Lakitu demo — a board run end to end, offline"));
  const stack = await startLocalStack({ warn: (m) => line(c.yellow(`! ${m}`)) });
  const { t, url, providerHandle } = stack.deployment;
  line(`${elapsed()} sandbox host ${stack.host.url} (isolation: ${stack.host.isolation === "bwrap" ? c.green("bubblewrap") : c.red("none")}, ${stack.host.processLimit})`);
  line(`${elapsed()} component on convex-test, routes at ${url}; model: scripted`);
  const boards: string[] = [];
  const dashboard = await serveDashboard(stack, boards, opts.port).catch((e: unknown) => {
    line(c.yellow(`! the dashboard did not start: ${e instanceof Error ? e.message : String(e)}`));
    return undefined;
  });
  if (dashboard) line(`${elapsed()} dashboard: ${c.bold(dashboard.url)}${opts.keep ? "" : c.dim(" (until the tour ends; --keep keeps it running)")}`);
  try {
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 15_000 });
    const { boardId, stageIds } = await t.mutation(api.boards.createBoard, { name: "Lakitu demo", stages: STAGES });
    boards.push(boardId);
    const stageName = new Map(stageIds.map((id, i) => [id, STAGES[i].name]));
    const cardId = await t.mutation(api.cards.addCard, {
      boardId,
      title: "Sea otters and kelp forests",
      description: "How otters keep kelp forests alive",
      context: { scripted_skip: "figures.csv" },
    });
    line(`${elapsed()} board ${c.bold("Lakitu demo")}: ${STAGES.map((s) => s.name).join(" → ")}`);
    const idle = await startIdleCard(t, providerHandle, url);
    const budget = await startBudgetCard(t, providerHandle, url);
    await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
    const outcome = await follow(t, cardId, stageName, elapsed, [idle, budget]);
    const files = await saveArtifacts(t, cardId, stageName, outRoot);
    line();
    line(c.bold("Artifacts written to"));
    for (const f of files) line(`  ${f}`);
    const ok = outcome.done && outcome.finalQaOk && idle.finished() && budget.finished();
    line();
    const missing = !idle.finished() ? "idle sandbox not reaped" : !budget.finished() ? "the paused card did not finish after its resume" : undefined;
    line(
      ok
        ? c.green(c.bold(`✔ card reached Done, every stage's QA passed, idle sandbox reaped, paused card resumed to Done (${elapsed().trim()})`))
        : c.red(c.bold(`✘ demo did not finish: ${outcome.problem ?? missing}`)),
    );
    if (opts.keep && dashboard && !opts.keep.signal.aborted) {
      line();
      line(`${c.bold("Lakitu dashboard:")} ${dashboard.url} ${c.dim("— the demo's boards stay up; Ctrl-C to stop")}`);
      await new Promise<void>((r) => opts.keep!.signal.addEventListener("abort", () => r(), { once: true }));
    }
    return ok ? 0 : 1;
  } finally {
    await dashboard?.close();
    await stack.close();
  }
}

const DEMO_NOTE =
  "lakitu demo: the scripted tour's boards, on convex-test in memory; nothing is kept after the demo exits (npx lakitu dev serves your own boards).";

/** The dashboard over the demo's stack (the same server as lakitu dev), on `port` or any free one. */
async function serveDashboard(stack: LocalStack, boards: string[], port = DEFAULT_DEV_PORT) {
  const { providerHandle, url } = stack.deployment;
  const serve = (p: number) =>
    serveDev({
      deployment: stack.deployment,
      context: { providerHandle, callbackUrl: url, appKsas: [] },
      info: () => ({ version: lakituPackage().version, model: "scripted", isolation: stack.host.isolation, persistence: { runHistoryKept: false, note: DEMO_NOTE }, boards }),
      assets,
      port: p,
    });
  const assets = await loadDashboard();
  try {
    return await serve(port);
  } catch (e) {
    if ((e as { code?: string }).code !== "EADDRINUSE") throw e;
    return await serve(0);
  }
}

/** A second card whose agent goes quiet: the reaper kills its sandbox at the stage's idle limit. */
async function startIdleCard(t: T, providerHandle: string, url: string) {
  const { boardId } = await t.mutation(api.boards.createBoard, {
    name: "Reaper demo",
    stages: [
      { name: "Stuck", kind: "agent", deliverables: [{ name: "never.md", type: "markdown" }], limits: { idleTimeoutMs: 3_000, maxAttempts: 1 } },
      { name: "Done", kind: "done" },
    ],
  });
  const cardId = await t.mutation(api.cards.addCard, { boardId, title: "An agent that goes quiet", context: { scripted_delay_ms: "600000" } });
  const { runId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
  let reaped = false;
  return {
    runId,
    finished: () => reaped,
    async tick(log: (s: string) => void) {
      if (reaped) return;
      const r = await t.mutation(api.reaper.reap, {});
      const run = await t.query(api.runs.getRun, { runId });
      if (r.idle > 0 && run?.error?.code === "idle_timeout") {
        reaped = true;
        log(`${c.magenta("reaper")}   killed idle sandbox ${run.session?.sandboxId} of "An agent that goes quiet": ${run.error.message}`);
      }
    },
  };
}

/**
 * A third card with a budget of one model step: the agent writes part of its deliverables, its next
 * turn is refused (maxSteps), QA fails and the card is paused. The demo then resumes it with a raised
 * budget: the new run continues the thread with the paused run's files restored and finishes.
 */
async function startBudgetCard(t: T, providerHandle: string, url: string) {
  const { boardId } = await t.mutation(api.boards.createBoard, {
    name: "Budget demo",
    stages: [
      {
        name: "Summarize",
        kind: "agent",
        goals: ["Summarize the topic", "Tabulate the facts"],
        deliverables: [
          { name: "summary.md", type: "markdown", checks: { minWords: 20 } },
          { name: "facts.csv", type: "csv" },
        ],
        limits: { maxSteps: 1, maxAttempts: 1 },
      },
      { name: "Done", kind: "done" },
    ],
  });
  const cardId = await t.mutation(api.cards.addCard, { boardId, title: "A card with a small budget", context: { scripted_skip: "facts.csv" } });
  await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
  let resumed = false;
  let done = false;
  return {
    finished: () => done,
    async tick(log: (s: string) => void) {
      if (done) return;
      const card = (await t.query(api.cards.getCard, { cardId }))!;
      if (card.status === "paused" && !resumed) {
        resumed = true;
        log(`${c.yellow("budget")}   "A card with a small budget" paused: ${card.note}`);
        await t.mutation(api.runs.resumeCard, { cardId, providerHandle, callbackUrl: url, raise: { maxSteps: 4 }, note: "Finish the facts table too." });
        log(`${c.yellow("budget")}   resumed it with maxSteps 4: same thread, the paused run's files restored`);
      } else if (card.status === "done" && resumed) {
        done = true;
        const [latest] = (await t.query(api.runs.listRuns, { cardId, paginationOpts: { numItems: 1, cursor: null } })).page;
        const { page: events } = await t.query(api.events.listEvents, { runId: latest.runId, paginationOpts: { numItems: 100, cursor: null } });
        const restore = events.find((e) => e.text?.startsWith("resumed:"));
        if (restore) log(`${c.yellow("budget")}   ${restore.text}`);
        const usage = await t.query(api.usage.getUsage, { cardId });
        log(`${c.yellow("budget")}   the resumed card reached Done (${usage.steps} model steps in all)`);
      }
    },
  };
}

async function follow(t: T, cardId: string, stageName: Map<string, string>, elapsed: () => string, others: Array<{ tick(log: (s: string) => void): Promise<void>; finished(): boolean }>) {
  const log = (s: string) => line(`${elapsed()} ${s}`);
  const seenRuns = new Map<string, number>();
  const reported = new Set<string>();
  const finalQa = new Map<string, boolean>();
  const approved = new Set<string>();
  let lastBoard = "";
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    for (const o of others) await o.tick(log);
    const card = (await t.query(api.cards.getCard, { cardId }))!;
    const board = `${stageName.get(card.stageId)} / ${card.status}`;
    if (board !== lastBoard) {
      log(`${c.cyan("board")}    card is in ${c.bold(stageName.get(card.stageId) ?? "?")} — ${card.status}`);
      lastBoard = board;
    }
    for (const summary of (await t.query(api.runs.listRuns, { cardId, paginationOpts: { numItems: 10, cursor: null } })).page) {
      await streamEvents(t, summary, seenRuns, log);
      if (["succeeded", "failed", "canceled"].includes(summary.status) && !reported.has(summary.runId)) {
        reported.add(summary.runId);
        const run = (await t.query(api.runs.getRun, { runId: summary.runId }))!;
        reportRun(run, stageName, log);
        if (run.qa) finalQa.set(run.stageId, run.qa.ok && run.status === "succeeded");
      }
    }
    if (card.status === "awaiting_review" && card.currentRunId && !approved.has(card.currentRunId)) {
      approved.add(card.currentRunId);
      await t.mutation(api.artifacts.reviewRun, { runId: card.currentRunId, decision: "approved", reviewer: "demo-reviewer", note: "Reads well." });
      log(`${c.blue("review")}   demo-reviewer approved the ${stageName.get(card.stageId)} deliverables`);
    }
    if (card.status === "done" && others.every((o) => o.finished())) {
      const stagesWithDeliverables = STAGES.filter((s) => s.kind === "agent").length;
      const finalQaOk = finalQa.size === stagesWithDeliverables && [...finalQa.values()].every(Boolean);
      return { done: true, finalQaOk, problem: finalQaOk ? undefined : "a stage's final QA did not pass" };
    }
    if (card.status === "blocked" || card.status === "error") return { done: false, finalQaOk: false, problem: `card ${card.status}: ${card.note}` };
  }
  return { done: false, finalQaOk: false, problem: "timed out after 180 s" };
}

async function streamEvents(t: T, run: { runId: string; attempt: number }, seen: Map<string, number>, log: (s: string) => void) {
  const after = seen.get(run.runId) ?? -1;
  const { page: events } = await t.query(api.events.listEvents, { runId: run.runId, afterSeq: after, paginationOpts: { numItems: 100, cursor: null } });
  if (events.length) seen.set(run.runId, events[events.length - 1].seq);
  for (const e of events) {
    const text = (e.text ?? "").split("\n").filter(Boolean);
    const head = text[0]?.slice(0, 110) ?? "";
    log(`${c.dim(`run#${run.attempt} ${e.kind.padEnd(8)}`)} ${head}${text.length > 1 ? c.dim(` (+${text.length - 1} lines)`) : ""}`);
  }
}

function reportRun(run: PublicRun, stageName: Map<string, string>, log: (s: string) => void) {
  const name = stageName.get(run.stageId) ?? "?";
  const verdict = run.status === "succeeded" ? c.green("passed") : c.red(run.status);
  log(`${c.bold("QA")}       ${name} attempt ${run.attempt}: ${verdict} — ${run.qa?.summary ?? run.error?.message ?? ""}`);
  for (const check of run.qa?.checks ?? []) {
    if (!check.ok || check.check === "type") log(`           ${check.ok ? c.green("✔") : c.red("✘")} ${check.deliverable} ${check.check}: ${check.reason}`);
  }
  if (run.retryContext) log(`           retry context: ${run.retryContext.problem}`);
}

/** Downloads the card's current artifacts from file storage into `<out>/<stage>/<name>`. */
async function saveArtifacts(t: T, cardId: string, stageName: Map<string, string>, outRoot: string): Promise<string[]> {
  const artifacts = (await allPages((paginationOpts) => t.query(api.artifacts.listArtifacts, { cardId, paginationOpts }))).filter((a) => !a.superseded);
  const runs = new Map((await allPages((paginationOpts) => t.query(api.runs.listRuns, { cardId, paginationOpts }))).map((r) => [r.runId, r]));
  const files: string[] = [];
  for (const a of artifacts) {
    if (runs.get(a.runId)?.status !== "succeeded") continue;
    const bytes = await t.run(async (ctx) => {
      const doc = await ctx.db.get(a.artifactId as never);
      const blob = doc ? await ctx.storage.get((doc as { storageId: string }).storageId as never) : null;
      return blob ? await blob.arrayBuffer() : null;
    });
    if (!bytes) continue;
    const dir = join(outRoot, stageName.get(a.stageId) ?? "stage");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, a.name);
    writeFileSync(path, new Uint8Array(bytes));
    files.push(`${path} (${a.size} bytes, sha256 ${a.sha256.slice(0, 12)}…)`);
  }
  return files;
}

/** Every item of a paginated list, page after page. */
async function allPages<T>(list: (paginationOpts: { numItems: number; cursor: string | null }) => Promise<{ page: T[]; isDone: boolean; continueCursor: string }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (;;) {
    const { page, isDone, continueCursor } = await list({ numItems: 100, cursor });
    items.push(...page);
    if (isDone) return items;
    cursor = continueCursor;
  }
}
