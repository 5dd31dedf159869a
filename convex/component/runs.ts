import { priceOf } from "../gateway/prices.js";
import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import { mergedStream, stream } from "convex-helpers/server/stream";
import schema from "./schema.js";
import { mapPage, pageOptions, vPage } from "../model/pages.js";
import { runSummary, vRunSummary } from "../model/summaries.js";
import { type MutationCtx } from "./_generated/server.js";
import { mutation, query } from "../model/functions.js";
import type { Doc } from "./_generated/dataModel.js";
import { fail } from "../shared/errors.js";
import { MAX_LIST_LIMIT } from "../shared/defaults.js";
import { ACTIVE_RUN_STATUSES } from "../shared/validators.js";
import { getConfig, stageLimits } from "../model/config.js";
import { load } from "../model/load.js";
import { checkLimits, checkText } from "../model/validate.js";
import { isTerminal, setCard, transitionRun } from "../model/machine.js";
import { nextAttempt, producedNames, retryContextOf, startRun } from "../model/runs.js";
import { requestKill, sessionOfRun } from "../model/sessions.js";
import { releaseAgentWait, releaseReviewWait } from "../model/workflowWake.js";
import { publicRun, publicTransition, vPublicRun, vPublicTransition } from "../model/public.js";

/**
 * Starts a run of the card in its current stage. `providerHandle` is a function handle to the
 * app-owned provider action; `callbackUrl` is where the runtime reaches the component's routes.
 * Pass `attempt` to make the call idempotent (a repeat returns the same run).
 */
export const runCard = mutation({
  args: {
    cardId: v.string(),
    providerHandle: v.string(),
    callbackUrl: v.string(),
    attempt: v.optional(v.number()),
  },
  returns: v.object({ runId: v.string(), workflowId: v.string(), attempt: v.number(), created: v.boolean() }),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    const stage = (await ctx.db.get(card.stageId))!;
    checkRunTarget(args);
    if (args.attempt !== undefined && (!Number.isInteger(args.attempt) || args.attempt < 1)) {
      fail("invalid_argument", `attempt must be a positive integer, got ${args.attempt}`);
    }
    const config = await getConfig(ctx);
    const limits = stageLimits(stage, config);
    const model = stage.model ?? "scripted";
    if (limits.maxCostUsd !== undefined && !priceOf(model, config.prices)) {
      fail(
        "invalid_argument",
        `stage "${stage.name}" has limits.maxCostUsd $${limits.maxCostUsd} but model "${model}" has no known price, so the budget cannot be enforced; ` +
          `add one: configure({ prices: [{ model: "${model}", inputUsdPerMTok, outputUsdPerMTok, source, date: "YYYY-MM-DD" }] })`,
      );
    }
    const attempt = args.attempt ?? (await nextAttempt(ctx, card._id, stage._id));
    const r = await startRun(ctx, {
      card,
      stage,
      attempt,
      retriesLeft: stageLimits(stage, config).maxAttempts - 1,
      providerHandle: args.providerHandle,
      callbackUrl: args.callbackUrl.replace(/\/+$/, ""),
      source: "client",
      reason: "run requested",
    });
    return { ...r, attempt };
  },
});

/**
 * Continues a card paused by a budget: a new run in the same stage that continues the card's agent
 * thread and starts with the paused run's files in its workspace. It costs no attempt. `raise` sets
 * higher limits for this run (each over the stage's); `note` reaches the agent with the retry context.
 */
export const resumeCard = mutation({
  args: {
    cardId: v.string(),
    providerHandle: v.string(),
    callbackUrl: v.string(),
    raise: v.optional(v.object({ maxSteps: v.optional(v.number()), maxCostUsd: v.optional(v.number()), maxDurationMs: v.optional(v.number()) })),
    note: v.optional(v.string()),
  },
  returns: v.object({ runId: v.string(), workflowId: v.string(), attempt: v.number(), created: v.boolean() }),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    if (card.status !== "paused" || !card.currentRunId) {
      fail("conflict", `card ${card._id} is ${card.status}; only a card paused by its budget can be resumed (runCard starts a new run)`);
    }
    checkRunTarget(args);
    checkLimits("raise", args.raise);
    checkText("note", args.note, 2_000);
    const paused = (await ctx.db.get(card.currentRunId))!;
    const stage = (await ctx.db.get(card.stageId))!;
    const config = await getConfig(ctx);
    const raised = { ...paused.raised, ...args.raise };
    const limits = stageLimits(stage, config, { raised });
    const model = stage.model ?? "scripted";
    if (limits.maxCostUsd !== undefined && !priceOf(model, config.prices)) {
      fail("invalid_argument", `model "${model}" has no known price, so maxCostUsd cannot be enforced; add one with configure({ prices })`);
    }
    const context = retryContextOf(paused, await producedNames(ctx, paused._id));
    const attempt = paused.attempt + 1;
    const r = await startRun(ctx, {
      card,
      stage,
      attempt,
      // A budget reached is not a failed attempt: the paused run's allowance carries over.
      retriesLeft: paused.retriesLeft,
      retryContext: { ...context, problem: `resumed after the run's budget was reached (${paused.budget?.limit ?? "budget"}): the work so far is in the workspace`, reviewerNotes: args.note ? [args.note] : [] },
      providerHandle: args.providerHandle,
      callbackUrl: args.callbackUrl.replace(/\/+$/, ""),
      source: "client",
      reason: `resumed${args.raise ? ` with ${Object.entries(args.raise).map(([k, val]) => `${k} ${val}`).join(", ")}` : ""}`,
      raised,
      resumedFrom: paused._id,
    });
    return { ...r, attempt };
  },
});

/** Cancels the run from any state. A terminal run stays as it is; returns whether this call canceled it. */
export const cancelRun = mutation({
  args: { runId: v.string(), reason: v.optional(v.string()) },
  returns: v.object({ canceled: v.boolean(), status: v.string() }),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    const canceled = await cancel(ctx, run, args.reason ?? "canceled by the app");
    return { canceled, status: (await ctx.db.get(run._id))!.status };
  },
});

/** Stops whatever the card is doing (its active run, or a wait for review) and leaves it idle. */
export const stopCard = mutation({
  args: { cardId: v.string(), reason: v.optional(v.string()) },
  returns: v.object({ stopped: v.boolean() }),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    if (!card.currentRunId) return { stopped: false };
    const run = (await ctx.db.get(card.currentRunId))!;
    return { stopped: await cancel(ctx, run, args.reason ?? "card stopped by the app") };
  },
});

/** The one cancel path (also used by lifecycle deletes). */
export async function cancel(ctx: MutationCtx, run: Doc<"runs">, reason: string): Promise<boolean> {
  const card = (await ctx.db.get(run.cardId))!;
  const owning = card.currentRunId === run._id;
  const meta = { source: "cancel" as const, reason };
  let changed = false;
  if (!isTerminal(run.status)) {
    changed = await transitionRun(ctx, run._id, "canceled", meta, { error: { code: "canceled", message: reason } });
  } else if (!(owning && card.status === "awaiting_review")) {
    return false;
  }
  const session = await sessionOfRun(ctx, run);
  if (session) await requestKill(ctx, session, "canceled");
  // The workflow is woken, not canceled, and ends by itself (model/workflowWake.ts).
  await releaseAgentWait(ctx, run);
  if (owning && card.status === "awaiting_review") await releaseReviewWait(ctx, run);
  if (owning) {
    await setCard(ctx, card, { status: "idle", note: `canceled: ${reason}` }, meta);
    changed = true;
  }
  return changed;
}

export const getRun = query({
  args: { runId: v.string() },
  returns: v.union(v.null(), vPublicRun),
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("runs", args.runId);
    const run = id && (await ctx.db.get(id));
    if (!run) return null;
    return publicRun(run, run.sessionId ? await ctx.db.get(run.sessionId) : null);
  },
});

/**
 * Runs of a card, newest first, as a Convex page of summaries (QA and error cut to 500 characters;
 * `getRun` has the whole run with its session). `paginationOpts.numItems` is 1–200.
 */
export const listRuns = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  returns: vPage(vRunSummary),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    const page = await paginator(ctx.db, schema)
      .query("runs")
      .withIndex("by_card", (q) => q.eq("cardId", card._id))
      .order("desc")
      .paginate(pageOptions(args.paginationOpts, MAX_LIST_LIMIT));
    return mapPage(page, runSummary);
  },
});

/**
 * The audit log of a card, newest first: every card and run transition with its source and reason,
 * as a Convex page (`paginationOpts.numItems` 1–1000).
 */
export const listTransitions = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  returns: vPage(vPublicTransition),
  handler: async (ctx, args) => {
    const card = await load(ctx, "cards", args.cardId);
    const page = await paginator(ctx.db, schema)
      .query("transitions")
      .withIndex("by_card", (q) => q.eq("cardId", card._id))
      .order("desc")
      .paginate(pageOptions(args.paginationOpts, 1_000));
    return mapPage(page, publicTransition);
  },
});

/**
 * Runs not yet in a terminal state, across all boards, newest first, as a Convex page of summaries
 * (`paginationOpts.numItems` 1–200): what `lakitu status` shows.
 */
export const listActive = query({
  args: { paginationOpts: paginationOptsValidator },
  returns: vPage(vRunSummary),
  handler: async (ctx, args) => {
    const byStatus = ACTIVE_RUN_STATUSES.map((status) =>
      stream(ctx.db, schema).query("runs").withIndex("by_status", (q) => q.eq("status", status)).order("desc"),
    );
    const page = await mergedStream(byStatus, ["_creationTime"]).paginate(pageOptions(args.paginationOpts, MAX_LIST_LIMIT));
    return mapPage(page, runSummary);
  },
});

/** Where a run's sandbox comes from and calls back to. */
function checkRunTarget(args: { providerHandle: string; callbackUrl: string }): void {
  if (!/^https?:\/\/[^\s]+$/.test(args.callbackUrl)) {
    fail("invalid_argument", `callbackUrl must be an http(s) URL such as https://<deployment>.convex.site/lakitu, got "${args.callbackUrl}"`);
  }
  if (!args.providerHandle.startsWith("function://")) {
    fail("invalid_argument", "providerHandle must be a function handle: pass createFunctionHandle(internal.<your provider action>)");
  }
}
