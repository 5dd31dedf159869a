/** The stored configuration singleton, resolved against the defaults. */
import type { Doc } from "../component/_generated/dataModel.js";
import type { QueryCtx } from "../component/_generated/server.js";
import * as D from "../shared/defaults.js";
import type { ModelPrice, StageLimits } from "../shared/validators.js";

export type ResolvedConfig = {
  heartbeatTimeoutMs: number;
  provisionGraceMs: number;
  defaultMaxAttempts: number;
  defaultMaxDurationMs: number;
  defaultIdleTimeoutMs: number;
  maxEventBatch: number;
  maxEventBytes: number;
  maxArtifactBytes: number;
  maxRunArtifacts: number;
  maxRunArtifactBytes: number;
  maxRunEvents: number;
  maxArtifactVersionsPerName: number;
  /** Days to keep events / superseded artifact versions; absent = forever. */
  retention: { eventsDays?: number; supersededArtifactsDays?: number };
  template?: string;
  templateVersion?: string;
  redact: string[];
  /** Names of env vars whose values are redacted (values read at use, never stored). */
  secrets: string[];
  webEnabled: boolean;
  /** The app's model prices (over the shipped table). */
  prices: ModelPrice[];
  /** The app's own KSA names stages may list (pinned by `lakitu publish`). */
  appKsas: string[];
};

export async function configDoc(ctx: QueryCtx): Promise<Doc<"config"> | null> {
  return await ctx.db.query("config").first();
}

export async function getConfig(ctx: QueryCtx): Promise<ResolvedConfig> {
  const c = await configDoc(ctx);
  return {
    heartbeatTimeoutMs: c?.heartbeatTimeoutMs ?? D.DEFAULT_HEARTBEAT_TIMEOUT_MS,
    provisionGraceMs: c?.provisionGraceMs ?? D.DEFAULT_PROVISION_GRACE_MS,
    defaultMaxAttempts: c?.defaultMaxAttempts ?? D.DEFAULT_MAX_ATTEMPTS,
    defaultMaxDurationMs: c?.defaultMaxDurationMs ?? D.DEFAULT_MAX_DURATION_MS,
    defaultIdleTimeoutMs: c?.defaultIdleTimeoutMs ?? D.DEFAULT_IDLE_TIMEOUT_MS,
    maxEventBatch: c?.maxEventBatch ?? D.DEFAULT_MAX_EVENT_BATCH,
    maxEventBytes: c?.maxEventBytes ?? D.DEFAULT_MAX_EVENT_BYTES,
    maxArtifactBytes: c?.maxArtifactBytes ?? D.DEFAULT_MAX_ARTIFACT_BYTES,
    maxRunArtifacts: c?.maxRunArtifacts ?? D.DEFAULT_MAX_RUN_ARTIFACTS,
    maxRunArtifactBytes: c?.maxRunArtifactBytes ?? D.DEFAULT_MAX_RUN_ARTIFACT_BYTES,
    maxRunEvents: c?.maxRunEvents ?? D.DEFAULT_MAX_RUN_EVENTS,
    maxArtifactVersionsPerName: c?.maxArtifactVersionsPerName ?? D.DEFAULT_MAX_ARTIFACT_VERSIONS_PER_NAME,
    retention: c?.retention ?? {},
    template: c?.template,
    templateVersion: c?.templateVersion,
    redact: c?.redact ?? [],
    secrets: c?.secrets ?? [],
    webEnabled: c?.webEnabled ?? false,
    prices: c?.prices ?? [],
    appKsas: c?.appKsas ?? [],
  };
}

/**
 * Effective limits of a stage (or of a run's copy of its settings): the stage's own value, else the
 * stored config, else the default. A run resumed with raised budgets (resumeCard) has those over the stage's.
 */
export function stageLimits(stage: { limits?: StageLimits | undefined }, config: ResolvedConfig, run?: Pick<Doc<"runs">, "raised">) {
  const l = { ...stage.limits, ...run?.raised };
  return {
    maxAttempts: l.maxAttempts ?? config.defaultMaxAttempts,
    maxDurationMs: l.maxDurationMs ?? config.defaultMaxDurationMs,
    idleTimeoutMs: l.idleTimeoutMs ?? config.defaultIdleTimeoutMs,
    maxSteps: l.maxSteps,
    maxCostUsd: l.maxCostUsd,
    maxOutputTokens: l.maxOutputTokens ?? D.DEFAULT_MAX_OUTPUT_TOKENS,
    wipLimit: l.wipLimit,
  };
}
