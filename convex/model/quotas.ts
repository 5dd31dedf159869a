/**
 * Per-run quotas: artifact versions and their bytes, versions of one artifact name, events stored.
 * Each returns the refusal message (the caller fails with `quota_exceeded`), or null when the write fits.
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

/** One more artifact version of `size` bytes would pass the run's count or byte quota (configure maxRunArtifacts / maxRunArtifactBytes). */
export function artifactQuotaProblem(
  run: Pick<Doc<"runs">, "_id" | "stored">,
  size: number,
  config: { maxRunArtifacts: number; maxRunArtifactBytes: number },
): string | null {
  const stored = run.stored ?? { artifacts: 0, bytes: 0 };
  if (stored.artifacts + 1 > config.maxRunArtifacts) {
    return `run ${run._id} already stored ${stored.artifacts} artifact versions; the quota is ${config.maxRunArtifacts} per run (configure maxRunArtifacts)`;
  }
  if (stored.bytes + size > config.maxRunArtifactBytes) {
    return `run ${run._id} stored ${stored.bytes} bytes of artifacts; ${size} more would pass the quota of ${config.maxRunArtifactBytes} bytes per run (configure maxRunArtifactBytes)`;
  }
  return null;
}
