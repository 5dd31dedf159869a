import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import schema from "./schema.js";
import { mapPage, pageOptions, vPage } from "../model/pages.js";
import { type MutationCtx } from "./_generated/server.js";
import { mutation, query } from "../model/functions.js";
import type { Doc } from "./_generated/dataModel.js";
import { fail } from "../shared/errors.js";
import { vReviewDecision } from "../shared/validators.js";
import { load } from "../model/load.js";
import { currentArtifacts as currentVersions } from "../model/artifactVersions.js";
import { publicArtifact, vPublicArtifact } from "../model/public.js";
import { REVIEW_DONE, workflow } from "../model/workflowManager.js";

/**
 * Artifacts of a run (every version, by name then version) or of a card (every run, oldest first), as a
 * Convex page; pass exactly one of `runId` and `cardId`. `paginationOpts.numItems` is 1–500.
 */
export const listArtifacts = query({
  args: { runId: v.optional(v.string()), cardId: v.optional(v.string()), paginationOpts: paginationOptsValidator },
  returns: vPage(vPublicArtifact),
  handler: async (ctx, args) => {
    if ((args.runId === undefined) === (args.cardId === undefined)) fail("invalid_argument", "pass exactly one of runId or cardId");
    const opts = pageOptions(args.paginationOpts, 500);
    if (args.runId !== undefined) {
      const run = await load(ctx, "runs", args.runId);
      const page = await paginator(ctx.db, schema).query("artifacts").withIndex("by_run_name", (q) => q.eq("runId", run._id)).paginate(opts);
      return mapPage(page, publicArtifact);
    }
    const card = await load(ctx, "cards", args.cardId!);
    const page = await paginator(ctx.db, schema).query("artifacts").withIndex("by_card", (q) => q.eq("cardId", card._id)).paginate(opts);
    return mapPage(page, publicArtifact);
  },
});

/** A short-lived download URL for an artifact's bytes (null if the file is gone). */
/** One artifact by id (its run, card and stage, so an app can check who may see it), or null. */
export const getArtifact = query({
  args: { artifactId: v.string() },
  returns: v.union(v.null(), vPublicArtifact),
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("artifacts", args.artifactId);
    const a = id && (await ctx.db.get(id));
    return a ? publicArtifact(a) : null;
  },
});

export const getArtifactUrl = query({
  args: { artifactId: v.string() },
  returns: v.union(v.null(), v.string()),
  handler: async (ctx, args) => {
    const a = await load(ctx, "artifacts", args.artifactId);
    return await ctx.storage.getUrl(a.storageId);
  },
});

const reviewArgs = { decision: vReviewDecision, reviewer: v.optional(v.string()), note: v.optional(v.string()) };

/**
 * Approves or rejects one artifact. When the run waits for review, a rejection (with its note) sends it
 * back for another attempt, and approving the last pending artifact advances the card.
 */
export const reviewArtifact = mutation({
  args: { artifactId: v.string(), ...reviewArgs },
  returns: vPublicArtifact,
  handler: async (ctx, args) => {
    const a = await load(ctx, "artifacts", args.artifactId);
    checkNote(args.note);
    await ctx.db.patch(a._id, { review: args.decision, reviewer: args.reviewer, note: args.note, reviewedAt: Date.now() });
    await decideRun(ctx, (await ctx.db.get(a.runId))!, args.decision === "rejected" ? args.note ?? `"${a.name}" rejected` : null);
    return publicArtifact((await ctx.db.get(a._id))!);
  },
});

/** Approves or rejects a whole run waiting for review (every pending artifact gets the decision). */
export const reviewRun = mutation({
  args: { runId: v.string(), ...reviewArgs },
  returns: v.object({ decided: v.boolean() }),
  handler: async (ctx, args) => {
    const run = await load(ctx, "runs", args.runId);
    checkNote(args.note);
    if (run.review?.state !== "pending") fail("conflict", `run ${run._id} is not waiting for review`);
    for (const a of await currentArtifacts(ctx, run)) {
      if (a.review === "pending") await ctx.db.patch(a._id, { review: args.decision, reviewer: args.reviewer, note: args.note, reviewedAt: Date.now() });
    }
    return { decided: await decideRun(ctx, run, args.decision === "rejected" ? args.note ?? "run rejected" : null) };
  },
});

function checkNote(note: string | undefined) {
  if (note !== undefined && note.length > 4000) fail("invalid_argument", `note is ${note.length} characters; the limit is 4000`);
}

async function currentArtifacts(ctx: MutationCtx, run: Doc<"runs">) {
  return await currentVersions(ctx, run._id);
}

/** Wakes the run's workflow once the review is decided; returns whether it was. */
async function decideRun(ctx: MutationCtx, run: Doc<"runs">, rejection: string | null): Promise<boolean> {
  const card = await ctx.db.get(run.cardId);
  if (run.review?.state !== "pending" || !card || card.currentRunId !== run._id || card.status !== "awaiting_review") return false;
  let state: "approved" | "rejected";
  if (rejection !== null) state = "rejected";
  else if ((await currentArtifacts(ctx, run)).every((a) => a.review === "approved")) state = "approved";
  else return false;
  // The decision is the run's (run.review); the card's own transition follows when the workflow
  // advances or retries it (approved/rejected are not card statuses).
  await ctx.db.patch(run._id, { review: { state, notes: rejection ? [...run.review.notes, rejection] : run.review.notes } });
  await workflow.sendEvent(ctx, { workflowId: run.workflowId as never, name: REVIEW_DONE, value: { state } });
  return true;
}
