/**
 * Small helpers shared by the failure-path tests (failures, cancel, reaper, journal): start a run up to
 * `running`, read the documents a run leaves behind, and drive a runtime that keeps heartbeating.
 */
import { vi } from "vitest";
import { api } from "../component/_generated/api.js";
import type { Doc, Id } from "../component/_generated/dataModel.js";
import { workflow } from "../model/workflowManager.js";
import { CALLBACK_URL, SimRuntime, advance, runStatus, until, type T } from "./harness.js";
import { testProvider } from "../testkit/provider.js";
import { listAll } from "./listAll.js";
import schema from "../component/schema.js";

export async function runCard(t: T, cardId: string, providerHandle: string) {
  return await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
}

/** Starts a run of the card and waits until its sandbox is up; returns the run and its runtime. */
export async function startRunning(t: T, cardId: string, providerHandle: string) {
  const started = await runCard(t, cardId, providerHandle);
  await until(t, async () => (await runStatus(t, started.runId)) === "running");
  return { ...started, rt: new SimRuntime(t, testProvider.latest()) };
}

export async function getCard(t: T, cardId: string) {
  return (await t.query(api.cards.getCard, { cardId }))!;
}
export async function getRun(t: T, runId: string) {
  return (await t.query(api.runs.getRun, { runId }))!;
}

/** Runs of a card, oldest first, each whole (the list has summaries). */
export async function runsOf(t: T, cardId: string) {
  const runs = (await listAll(t, api.runs.listRuns, { cardId })).reverse();
  return await Promise.all(runs.map(async (r) => await getRun(t, r.runId)));
}

export async function sessionsOf(t: T, cardId: string): Promise<Doc<"sessions">[]> {
  return await t.run(async (ctx) => {
    const all = await ctx.db.query("sessions").collect();
    return all.filter((s) => s.cardId === cardId);
  });
}

export async function sessionOfRun(t: T, runId: string): Promise<Doc<"sessions">> {
  return await t.run(async (ctx) => (await ctx.db.query("sessions").withIndex("by_run", (q) => q.eq("runId", runId as Id<"runs">)).unique())!);
}

export async function workflowStatus(t: T, workflowId: string) {
  return await t.run(async (ctx) => await workflow.status(ctx, workflowId as never));
}

/** Every step in the workflow's journal. */
export async function journal(t: T, workflowId: string) {
  return await t.run(async (ctx) => {
    const steps = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await workflow.listSteps(ctx, workflowId as never, { paginationOpts: { numItems: 100, cursor } });
      steps.push(...page.page);
      if (page.isDone) return steps;
      cursor = page.continueCursor;
    }
  });
}

export async function transitionsOf(t: T, cardId: string) {
  return (await listAll(t, api.runs.listTransitions, { cardId })).reverse();
}

/** Is the runtime's token refused now? (A revoked token answers 401 on every route.) */
export async function tokenRefused(rt: SimRuntime): Promise<boolean> {
  const r = await rt.events(["after the end"]);
  return r.status === 401;
}

/** Advances fake time by `ms`, the runtime heartbeating every `everyMs` (real HTTP each time). */
export async function advanceHeartbeating(t: T, rt: SimRuntime, ms: number, everyMs: number, stepMs = Math.min(everyMs, 1_000)) {
  for (let elapsed = 0; elapsed < ms; elapsed += everyMs) {
    const r = await rt.heartbeat();
    if (r.status !== 200) throw new Error(`heartbeat refused: ${r.status} ${JSON.stringify(r.body)}`);
    await advance(t, Math.min(everyMs, ms - elapsed), stepMs);
  }
}

const realSetTimeout = globalThis.setTimeout.bind(globalThis);

/**
 * Advances fake time while some function is held open (a provider call awaiting a `deferred`), which
 * `advance`/`until` cannot do: they wait for every in-flight function. Yields real event-loop turns
 * between slices so scheduled functions make progress; returns once `cond` holds.
 */
export async function untilWhileHeld(cond: () => boolean | Promise<boolean>, maxMs = 10_000, stepMs = 50): Promise<void> {
  for (let elapsed = 0; elapsed <= maxMs; elapsed += stepMs) {
    for (let i = 0; i < 5; i++) await new Promise((r) => realSetTimeout(r, 0));
    if (await cond()) return;
    vi.advanceTimersByTime(stepMs);
  }
  throw new Error(`condition not reached within ${maxMs} ms of fake time (while a call was held)`);
}

/** A deferred promise: lets a test hold a provider call open and settle it later. */
export function deferred<V>() {
  let resolve!: (v: V) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function createCalls() {
  return testProvider.calls.filter((c) => c.op === "create").length;
}

/** Every document of every component table (and file storage), to compare before and after a refused call. */
export async function snapshotTables(t: T) {
  const tables = Object.keys(schema.tables) as Array<keyof typeof schema.tables>;
  return await t.run(async (ctx) => {
    const out: Record<string, unknown[]> = {};
    for (const table of tables) out[table] = await ctx.db.query(table).collect();
    out._storage = await ctx.db.system.query("_storage").collect();
    return out;
  });
}
