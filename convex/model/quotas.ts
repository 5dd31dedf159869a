/**
 * Per-run quotas beyond the artifact count and bytes (runtime.ts checkQuota): events stored, and
 * versions of one artifact name. Each returns the refusal message, or null when the write fits.
 */
import type { Doc } from "../component/_generated/dataModel.js";

/** `adding` new events to `run` would pass `max` (configure maxRunEvents). */
export function eventQuotaProblem(run: Pick<Doc<"runs">, "_id" | "eventCount">, adding: number, max: number): string | null {
  const count = run.eventCount ?? 0;
  if (adding === 0 || count + adding <= max) return null;
  return `run ${run._id} stored ${count} events; ${adding} more would pass the quota of ${max} events per run (configure maxRunEvents)`;
}

/** A new version of `name` after `latestVersion` would pass `max` (configure maxArtifactVersionsPerName). */
export function versionQuotaProblem(run: Pick<Doc<"runs">, "_id">, name: string, latestVersion: number, max: number): string | null {
  if (latestVersion + 1 <= max) return null;
  return `run ${run._id} already stored ${latestVersion} versions of "${name}"; the quota is ${max} versions per name (configure maxArtifactVersionsPerName)`;
}
