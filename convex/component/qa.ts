/** The QA step of a run: checks the deliverables the run started with against its artifacts, reading only deliverables, in bounded memory. */
import { v } from "convex/values";
import { internalAction, internalMutation, type ActionCtx, type MutationCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { internal } from "./_generated/api.js";
import { checkStoredDeliverables, readBlobHead, readBlobTail } from "../model/qaRead.js";
import { vDeliverable, vQaReport, type Deliverable, type QaReport } from "../shared/validators.js";
import { endAgentSandbox, settleCard } from "./workflow.js";
import { transitionRun } from "../model/machine.js";
import { settingsOf } from "../model/settings.js";
import { currentArtifacts, versionWithHash } from "../model/artifactVersions.js";

/**
 * The workflow's one step after the agent phase: the sandbox killed, QA when the agent completed, and
 * the card settled. Each part is idempotent, so the step can be retried: beginChecks resumes a run left
 * in `checking`, recordAndSettle never overwrites a verdict and settles a card only once.
 */
export const settleRun = internalAction({
  args: { runId: v.id("runs") },
  returns: v.object({ awaitReview: v.boolean() }),
  handler: async (ctx, { runId }): Promise<{ awaitReview: boolean }> => {
    const input = await ctx.runMutation(internal.qa.beginChecks, { runId });
    const report = input ? await checkDeliverables(ctx, input) : null;
    return await ctx.runMutation(internal.qa.recordAndSettle, { runId, report });
  },
});

type ChecksInput = { deliverables: Deliverable[]; artifacts: Array<{ name: string; type: string; size: number; storageId: Id<"_storage"> }> };

async function checkDeliverables(ctx: ActionCtx, input: ChecksInput): Promise<QaReport> {
  // Only deliverables are read, one at a time, each up to a cap (model/qaRead.ts).
  return await checkStoredDeliverables(
      input.deliverables,
      input.artifacts,
      async (storageId, maxBytes) => {
        const blob = await ctx.storage.get(storageId);
        return blob ? await readBlobHead(blob, maxBytes) : null;
      },
      async (storageId, bytes) => {
        const blob = await ctx.storage.get(storageId);
        return blob ? await readBlobTail(blob, bytes) : null;
      },
    );
}

/**
 * The agent phase is over: the sandbox is killed, and collecting -> checking; returns what QA needs, or
 * null when there is nothing to check (the run failed, timed out or was canceled).
 */
export const beginChecks = internalMutation({
  args: { runId: v.id("runs") },
  returns: v.union(
    v.null(),
    v.object({
      deliverables: v.array(vDeliverable),
      artifacts: v.array(v.object({ name: v.string(), type: v.string(), size: v.number(), storageId: v.id("_storage") })),
    }),
  ),
  handler: async (ctx, { runId }) => {
    const run = (await ctx.db.get(runId))!;
    await endAgentSandbox(ctx, run);
    if (run.status !== "collecting" && run.status !== "checking") return null;
    // The deliverables the run started with, not the stage's current ones.
    const settings = await settingsOf(ctx, run);
    const artifacts = (await artifactsToCheck(ctx, run)).map((a) => ({ name: a.name, type: a.type, size: a.size, storageId: a.storageId }));
    await transitionRun(ctx, runId, "checking", {
      source: "workflow",
      reason: `collected ${artifacts.length} artifact(s); manifest listed ${run.completion?.manifest.length ?? 0}`,
    });
    return { deliverables: settings?.deliverables ?? [], artifacts };
  },
});

/**
 * What QA reads: after a completion, exactly the versions its manifest names (by hash; pinned when it
 * was accepted), never a later upload of the same name; without one (budget stop), the current versions.
 */
async function artifactsToCheck(ctx: MutationCtx, run: Doc<"runs">): Promise<Doc<"artifacts">[]> {
  if (!run.completion) {
    return await currentArtifacts(ctx, run._id);
  }
  const out: Doc<"artifacts">[] = [];
  for (const m of run.completion.manifest) {
    if (m.sha256 === undefined) continue;
    const named = await versionWithHash(ctx, run._id, m.name, m.sha256);
    if (named) out.push(named);
  }
  return out;
}

/** QA's verdict (when QA ran) and the card settled, in one transaction. */
export const recordAndSettle = internalMutation({
  args: { runId: v.id("runs"), report: v.union(v.null(), vQaReport) },
  returns: v.object({ awaitReview: v.boolean() }),
  handler: async (ctx, { runId, report }) => {
    if (report) await recordVerdict(ctx, runId, report);
    return await settleCard(ctx, runId);
  },
});

/** A run in `checking` gets QA's verdict; any other run (canceled meanwhile, already judged) is left alone. */
async function recordVerdict(ctx: MutationCtx, runId: Id<"runs">, report: QaReport): Promise<void> {
  const run = (await ctx.db.get(runId))!;
  if (run.status !== "checking") return;
  const completionFailed = run.completion?.status === "failed";
  if (report.ok && !completionFailed) {
    await transitionRun(ctx, runId, "succeeded", { source: "workflow", reason: report.summary }, { qa: report });
  } else {
    const message = completionFailed
      ? `the agent reported failure: ${run.completion?.error ?? "no reason given"}`
      : run.budget
        ? `budget reached (${run.budget.limit}: ${run.budget.message}) before the deliverables passed: ${report.summary}`
        : report.summary;
    const code = completionFailed ? "agent_failed" : run.budget ? "budget_exceeded" : "qa_failed";
    await transitionRun(ctx, runId, "failed", { source: "workflow", reason: message }, { qa: report, error: { code, message } });
  }
}
