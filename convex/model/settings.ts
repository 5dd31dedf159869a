/**
 * A run's stage settings: copied from the stage when the run starts (`runSettings` row) and read from
 * there for the rest of the run (task, model turns, KSA policy, durations, QA, approval), so
 * `updateStage` changes only the runs that start afterwards.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx, QueryCtx } from "../component/_generated/server.js";
import { KSA_REGISTRY } from "../../ksa/registry.generated.js";
import { resolveAllowed } from "../../ksa/policy.js";
import type { RunSettings } from "../shared/validators.js";

/** What a run takes from its stage. */
export function snapshotOf(stage: Doc<"stages">): RunSettings {
  return {
    stageName: stage.name,
    goals: stage.goals ?? [],
    deliverables: stage.deliverables ?? [],
    allowedKsas: resolveAllowed(stage.allowedKsas, KSA_REGISTRY),
    ...(stage.model !== undefined ? { model: stage.model } : {}),
    ...(stage.prompt !== undefined ? { prompt: stage.prompt } : {}),
    ...(stage.limits !== undefined ? { limits: stage.limits } : {}),
    ...(stage.requiresApproval !== undefined ? { requiresApproval: stage.requiresApproval } : {}),
  };
}

/** Records the stage's settings for a new run; the caller stores the id on the run (`settingsId`). */
export async function recordSettings(ctx: MutationCtx, runId: Id<"runs">, stage: Doc<"stages">): Promise<Id<"runSettings">> {
  return await ctx.db.insert("runSettings", { runId, ...snapshotOf(stage) });
}

/**
 * The settings `run` uses: its own copy, or (a run started before copies existed) its stage's current
 * settings; null only when neither exists (the stage was deleted).
 */
export async function settingsOf(ctx: QueryCtx, run: Pick<Doc<"runs">, "settingsId" | "stageId">): Promise<RunSettings | null> {
  if (run.settingsId) {
    const doc = await ctx.db.get(run.settingsId);
    if (doc) {
      // The row's own fields (_id, _creationTime, runId) are not settings.
      const { _id, _creationTime, runId, ...settings } = doc;
      return settings;
    }
  }
  const stage = await ctx.db.get(run.stageId);
  return stage ? snapshotOf(stage) : null;
}
