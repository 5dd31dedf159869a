/**
 * Reading and driving the component from a fault test: a board and its cards, runs, transitions and
 * events, waiting for a card to settle, and the workflow journal and sessions of a run.
 */
import { api } from "../../convex/component/_generated/api.js";
import { listAll } from "../../convex/testing/listAll.js";
import type { T } from "./stacks.js";
import { waitFor } from "./waiting.js";

/** Two stages (Work → Done) on a new board; Work must produce report.md. */
export async function board(
  t: T,
  name: string,
  o: { maxAttempts?: number; maxDurationMs?: number; idleTimeoutMs?: number; deliverables?: Array<{ name: string; type: "markdown" | "json" | "csv" | "text" }>; model?: string } = {},
) {
  const { boardId, stageIds } = await t.mutation(api.boards.createBoard, {
    name,
    stages: [
      {
        name: "Work",
        kind: "agent",
        goals: ["Write the report"],
        deliverables: o.deliverables ?? [{ name: "report.md", type: "markdown" }],
        limits: { maxAttempts: o.maxAttempts ?? 2, ...(o.maxDurationMs ? { maxDurationMs: o.maxDurationMs } : {}), ...(o.idleTimeoutMs ? { idleTimeoutMs: o.idleTimeoutMs } : {}) },
        ...(o.model ? { model: o.model } : {}),
      },
      { name: "Done", kind: "done" },
    ],
  });
  return { boardId, stageIds };
}

export async function addCard(t: T, boardId: string, title: string, context?: Record<string, string>) {
  return await t.mutation(api.cards.addCard, { boardId, title, ...(context ? { context } : {}) });
}

export async function card(t: T, cardId: string) {
  return (await t.query(api.cards.getCard, { cardId }))!;
}
export async function run(t: T, runId: string) {
  return (await t.query(api.runs.getRun, { runId }))!;
}
/** Runs of a card, oldest first, each whole (the list has summaries). */
export async function runsOf(t: T, cardId: string) {
  const runs = (await listAll(t, api.runs.listRuns, { cardId })).reverse();
  return await Promise.all(runs.map(async (r) => await run(t, r.runId)));
}
export async function transitionsOf(t: T, cardId: string) {
  return (await listAll(t, api.runs.listTransitions, { cardId })).reverse();
}
/** The status a run was in when `source` moved it to `to` (from the audit log). */
export async function movedFrom(t: T, cardId: string, runId: string, to: string) {
  return (await transitionsOf(t, cardId)).find((r) => r.entity === "run" && r.runId === runId && r.to === to)?.from;
}

const SETTLED = new Set(["done", "blocked", "idle", "error", "awaiting_review"]);
/** Waits until the card rests (done, blocked, idle, error or awaiting review) with no active run. */
export async function settle(t: T, cardId: string, ms = 60_000) {
  await waitFor(`card ${cardId} to settle`, async () => {
    const c = await card(t, cardId);
    if (!SETTLED.has(c.status)) return false;
    const runs = await runsOf(t, cardId);
    return runs.every((r) => ["succeeded", "failed", "canceled", "timed_out"].includes(r.status));
  }, ms, 100);
  return await card(t, cardId);
}

export async function firstEvent(t: T, runId: string, kind: string, ms = 30_000) {
  await waitFor(`run ${runId} to emit a ${kind} event`, async () => (await listAll(t, api.events.listEvents, { runId })).some((e) => e.kind === kind), ms);
}

/** The card-run workflow's journal: `kind:name` of every step. */
export async function journal(t: T, workflowId: string): Promise<string[]> {
  const { workflow } = await import("../../convex/model/workflowManager.js");
  return await t.run(async (ctx: any) => {
    const steps: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: any = await workflow.listSteps(ctx, workflowId as never, { paginationOpts: { numItems: 100, cursor } });
      steps.push(...page.page.map((s: any) => `${s.kind}:${s.name}`));
      if (page.isDone) return steps;
      cursor = page.continueCursor;
    }
  });
}

export async function sessionsOfRun(t: T, runId: string) {
  return await t.run(async (ctx: any) => await ctx.db.query("sessions").withIndex("by_run", (q: any) => q.eq("runId", runId)).collect());
}
