/**
 * Every validator of Lakitu, defined once. The schema, the function args, the client and the HTTP
 * layer all import from here; hand-written public types are pinned with `satisfies`/`Infer`.
 */
import { v, type Infer } from "convex/values";

export const DELIVERABLE_TYPES = ["markdown", "json", "csv", "pdf", "png", "jpeg", "text", "html", "file"] as const;
export const vDeliverableType = v.union(...DELIVERABLE_TYPES.map((t) => v.literal(t)));
export type DeliverableType = Infer<typeof vDeliverableType>;

/** Deterministic checks of one deliverable. Sizes are bytes, words are whitespace-separated tokens. */
export const vDeliverableChecks = v.object({
  minBytes: v.optional(v.number()),
  maxBytes: v.optional(v.number()),
  minWords: v.optional(v.number()),
  maxWords: v.optional(v.number()),
  /** JSON Schema as JSON text (Convex field names cannot start with `$`). Only for `json`. */
  jsonSchema: v.optional(v.string()),
  /** A JavaScript regular expression source the text content must match. */
  regex: v.optional(v.string()),
  /** Text types: literal strings (case-sensitive) the content must contain / must not contain. */
  contains: v.optional(v.array(v.string())),
  notContains: v.optional(v.array(v.string())),
  /** CSV: data rows (header excluded), required header names (exact after trimming), delimiter (default ","). */
  minRows: v.optional(v.number()),
  maxRows: v.optional(v.number()),
  columns: v.optional(v.array(v.string())),
  delimiter: v.optional(v.string()),
  /** Markdown: headings that must appear (by text, case-insensitive, any level). */
  headings: v.optional(v.array(v.string())),
  /** PDF: at least this many pages. */
  minPages: v.optional(v.number()),
  /** png, jpeg: at least this many pixels wide / high. */
  minWidth: v.optional(v.number()),
  minHeight: v.optional(v.number()),
});
export type DeliverableChecks = Infer<typeof vDeliverableChecks>;

export const vDeliverable = v.object({
  /** Artifact name the agent must produce, relative to the output folder, e.g. `report.md`. */
  name: v.string(),
  type: vDeliverableType,
  description: v.optional(v.string()),
  /** Default true. An optional deliverable is checked only when present. */
  required: v.optional(v.boolean()),
  checks: v.optional(vDeliverableChecks),
});
export type Deliverable = Infer<typeof vDeliverable>;

export const vQaCheck = v.object({
  deliverable: v.string(),
  check: v.string(),
  ok: v.boolean(),
  reason: v.string(),
});
export type QaCheck = Infer<typeof vQaCheck>;

export const vQaReport = v.object({
  ok: v.boolean(),
  checks: v.array(vQaCheck),
  missing: v.array(v.string()),
  failed: v.array(v.string()),
  produced: v.array(v.string()),
  summary: v.string(),
});
export type QaReport = Infer<typeof vQaReport>;

// ---------------------------------------------------------------------------------------------
// Boards, stages, cards

export const vStageKind = v.union(v.literal("agent"), v.literal("human"), v.literal("done"));
export type StageKind = Infer<typeof vStageKind>;

/** The limits whose reaching ends a run's agent phase as budget_exceeded (and may pause the card). */
export const BUDGET_LIMITS = ["maxSteps", "maxCostUsd", "maxDurationMs"] as const;
export const vBudgetLimit = v.union(...BUDGET_LIMITS.map((l) => v.literal(l)));
export type BudgetLimit = Infer<typeof vBudgetLimit>;

/** Per-stage limits. Units are in the names; every field is optional and falls back to config. */
export const vStageLimits = v.object({
  maxAttempts: v.optional(v.number()),
  maxDurationMs: v.optional(v.number()),
  maxSteps: v.optional(v.number()),
  maxCostUsd: v.optional(v.number()),
  /** Output tokens a model turn may produce (set on every call; the cost budget reserves it). */
  maxOutputTokens: v.optional(v.number()),
  idleTimeoutMs: v.optional(v.number()),
  wipLimit: v.optional(v.number()),
});
export type StageLimits = Infer<typeof vStageLimits>;

/** What a parent app writes for a stage (create and update). */
export const stageFields = {
  name: v.string(),
  kind: vStageKind,
  goals: v.optional(v.array(v.string())),
  deliverables: v.optional(v.array(vDeliverable)),
  allowedKsas: v.optional(v.array(v.string())),
  model: v.optional(v.string()),
  prompt: v.optional(v.string()),
  limits: v.optional(vStageLimits),
  requiresApproval: v.optional(v.boolean()),
  autoAdvance: v.optional(v.boolean()),
};
export const vStageInput = v.object(stageFields);
export type StageInput = Infer<typeof vStageInput>;
/** A stage update: any subset of the stage fields. */
export const vStagePatch = vStageInput.partial();
export type StagePatch = Infer<typeof vStagePatch>;

/**
 * The stage settings one run uses, copied from its stage when the run starts, so `updateStage` never
 * changes a run in progress. `allowedKsas` is resolved (a missing list became the default KSAs).
 */
export const vRunSettings = v.object({
  stageName: v.string(),
  goals: v.array(v.string()),
  deliverables: v.array(vDeliverable),
  allowedKsas: v.array(v.string()),
  model: v.optional(v.string()),
  prompt: v.optional(v.string()),
  limits: v.optional(vStageLimits),
  requiresApproval: v.optional(v.boolean()),
});
export type RunSettings = Infer<typeof vRunSettings>;

/** `paused`: a run reached its budget (steps, cost or duration) and its deliverables did not pass; resumeCard continues it. */
export const CARD_STATUSES = ["idle", "queued", "running", "awaiting_review", "blocked", "paused", "done", "error"] as const;
export const vCardStatus = v.union(...CARD_STATUSES.map((s) => v.literal(s)));
export type CardStatus = Infer<typeof vCardStatus>;

/** Free-form string variables a card carries into the agent's prompt. */
export const vContext = v.record(v.string(), v.string());

// ---------------------------------------------------------------------------------------------
// Runs

export const RUN_STATUSES = [
  "queued",
  "provisioning",
  "running",
  "collecting",
  "checking",
  "succeeded",
  "failed",
  "canceled",
  "timed_out",
] as const;
export const vRunStatus = v.union(...RUN_STATUSES.map((s) => v.literal(s)));
export type RunStatus = Infer<typeof vRunStatus>;
export const TERMINAL_RUN_STATUSES = ["succeeded", "failed", "canceled", "timed_out"] as const satisfies readonly RunStatus[];
export const ACTIVE_RUN_STATUSES = ["queued", "provisioning", "running", "collecting", "checking"] as const satisfies readonly RunStatus[];

/** Who caused a transition. Every row of the audit log names one. */
export const vTransitionSource = v.union(
  v.literal("client"),
  v.literal("workflow"),
  v.literal("runtime"),
  v.literal("watchdog"),
  v.literal("cancel"),
  v.literal("reaper"),
);
export type TransitionSource = Infer<typeof vTransitionSource>;

/** What the next attempt is told about the previous one. */
export const vRetryContext = v.object({
  previousRunId: v.string(),
  attempt: v.number(),
  problem: v.string(),
  missing: v.array(v.string()),
  failed: v.array(v.string()),
  produced: v.array(v.string()),
  reviewerNotes: v.array(v.string()),
});
export type RetryContext = Infer<typeof vRetryContext>;

export const vUsage = v.object({
  inputTokens: v.number(),
  outputTokens: v.number(),
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens: v.optional(v.number()),
  costUsd: v.number(),
  steps: v.number(),
  /** Seconds of sandbox time, counted when the session ends (per card and board). */
  sandboxSeconds: v.optional(v.number()),
});
export type Usage = Infer<typeof vUsage>;

/** The runtime's final word. */
export const vCompletion = v.object({
  status: v.union(v.literal("succeeded"), v.literal("failed"), v.literal("canceled")),
  summary: v.optional(v.string()),
  error: v.optional(v.string()),
  manifest: v.array(v.object({ name: v.string(), type: v.optional(v.string()), sha256: v.optional(v.string()) })),
  /** How many events the runtime numbered (its next seq): events below it never stored are marked as a gap. */
  eventCount: v.optional(v.number()),
});
export type Completion = Infer<typeof vCompletion>;

// ---------------------------------------------------------------------------------------------
// Sandbox provider contract: one app-owned action, reached through a function handle.

export const PROVIDER_ERROR_CODES = ["auth", "rate_limited", "not_found", "busy", "invalid", "unavailable", "internal"] as const;
export const vProviderErrorCode = v.union(...PROVIDER_ERROR_CODES.map((c) => v.literal(c)));
export type ProviderErrorCode = Infer<typeof vProviderErrorCode>;
export const vMetadata = v.record(v.string(), v.string());

export const vProviderRequest = v.union(
  v.object({
    op: v.literal("create"),
    sessionId: v.string(),
    template: v.optional(v.string()),
    metadata: vMetadata,
    /** Session environment for the runtime process. Holds the session token: never log it. */
    envs: v.record(v.string(), v.string()),
    timeoutMs: v.number(),
  }),
  v.object({ op: v.literal("kill"), sandboxId: v.string() }),
  v.object({ op: v.literal("status"), sandboxId: v.string() }),
  v.object({ op: v.literal("extend"), sandboxId: v.string(), timeoutMs: v.number() }),
  v.object({ op: v.literal("list"), metadata: vMetadata }),
);
export type ProviderRequest = Infer<typeof vProviderRequest>;

export const vProviderError = v.object({ code: vProviderErrorCode, message: v.string(), retryable: v.boolean() });
export type ProviderError = Infer<typeof vProviderError>;
export const vProviderResult = v.union(
  v.object({ ok: v.literal(true), op: v.literal("create"), sandboxId: v.string() }),
  v.object({ ok: v.literal(true), op: v.literal("kill"), killed: v.boolean() }),
  v.object({
    ok: v.literal(true),
    op: v.literal("status"),
    state: v.union(v.literal("running"), v.literal("gone")),
    /** Why a gone sandbox is gone, when the provider knows (the local host names a crossed resource limit). */
    reason: v.optional(v.string()),
  }),
  v.object({ ok: v.literal(true), op: v.literal("extend") }),
  v.object({
    ok: v.literal(true),
    op: v.literal("list"),
    sandboxes: v.array(v.object({ sandboxId: v.string(), metadata: vMetadata })),
  }),
  v.object({ ok: v.literal(false), error: vProviderError }),
);
export type ProviderResult = Infer<typeof vProviderResult>;
/** The provider action's `args` (Convex function args must be an object): `{ request }`. */
export const providerArgs = { request: vProviderRequest };

// ---------------------------------------------------------------------------------------------
// Sessions, events, artifacts, inbox

export const SESSION_STATES = ["intended", "starting", "running", "ending", "ended"] as const;
export const vSessionState = v.union(...SESSION_STATES.map((s) => v.literal(s)));
export type SessionState = Infer<typeof vSessionState>;

/** "info" first: it is most events' level, and a union is checked branch by branch in order. */
export const vEventLevel = v.union(v.literal("info"), v.literal("debug"), v.literal("warn"), v.literal("error"));
export const vEventInput = v.object({
  seq: v.number(),
  kind: v.string(),
  level: v.optional(vEventLevel),
  text: v.optional(v.string()),
  /** Structured payload as JSON text (the HTTP layer serializes the request's `data`). */
  data: v.optional(v.string()),
  ts: v.optional(v.number()),
});
export type EventInput = Infer<typeof vEventInput>;

export const vReviewState = v.union(v.literal("pending"), v.literal("approved"), v.literal("rejected"));
export type ReviewState = Infer<typeof vReviewState>;
export const vReviewDecision = v.union(v.literal("approved"), v.literal("rejected"));

export const vPlanTask = v.object({
  id: v.string(),
  title: v.string(),
  kind: v.union(v.literal("goal"), v.literal("deliverable"), v.literal("task")),
  status: v.union(v.literal("todo"), v.literal("doing"), v.literal("done")),
  note: v.optional(v.string()),
});
export type PlanTask = Infer<typeof vPlanTask>;

// ---------------------------------------------------------------------------------------------
// Configuration

/**
 * A model's price in USD per million tokens, with where it was read and when. Checked by
 * `checkPrices` (fields are optional here only so that a missing one gets Lakitu's error).
 */
export const vModelPrice = v.object({
  model: v.string(),
  inputUsdPerMTok: v.optional(v.number()),
  outputUsdPerMTok: v.optional(v.number()),
  cachedInputUsdPerMTok: v.optional(v.number()),
  source: v.optional(v.string()),
  date: v.optional(v.string()),
});
export type ModelPrice = Infer<typeof vModelPrice>;

export const vConfigPatch = v.object({
  heartbeatTimeoutMs: v.optional(v.number()),
  provisionGraceMs: v.optional(v.number()),
  defaultMaxAttempts: v.optional(v.number()),
  defaultMaxDurationMs: v.optional(v.number()),
  defaultIdleTimeoutMs: v.optional(v.number()),
  maxEventBatch: v.optional(v.number()),
  maxEventBytes: v.optional(v.number()),
  maxArtifactBytes: v.optional(v.number()),
  maxRunArtifacts: v.optional(v.number()),
  maxRunArtifactBytes: v.optional(v.number()),
  /** Events one run may store (default 20,000); past it the runtime gets 413 quota_exceeded. */
  maxRunEvents: v.optional(v.number()),
  /** Versions of one artifact name one run may store (default 50); past it 413 quota_exceeded. */
  maxArtifactVersionsPerName: v.optional(v.number()),
  /**
   * How long to keep events and superseded artifact versions, in whole days (default: forever).
   * Applied by the component's hourly retention cron in bounded batches.
   */
  retention: v.optional(v.object({ eventsDays: v.optional(v.number()), supersededArtifactsDays: v.optional(v.number()) })),
  template: v.optional(v.string()),
  templateVersion: v.optional(v.string()),
  /** Let the `web` KSA fetch through the gateway (default off). */
  webEnabled: v.optional(v.boolean()),
  /** Strings to redact from stored events (e.g. key prefixes your provider uses). */
  redact: v.optional(v.array(v.string())),
  /**
   * NAMES of environment variables (of the component: `app.use(lakitu, { env })`) whose values are
   * secrets: redacted from everything stored or sent, like the model keys. The values are read at use
   * and never stored. Example: `configure({ secrets: ["STRIPE_KEY"] })`.
   */
  secrets: v.optional(v.array(v.string())),
  /** Model prices that override or extend the shipped table (by model string). */
  prices: v.optional(v.array(vModelPrice)),
  /** Names of the app's own KSAs (lakitu/ksa/) stages may list, besides the built-ins; pinned by `lakitu publish`. */
  appKsas: v.optional(v.array(v.string())),
});
export type ConfigPatch = Infer<typeof vConfigPatch>;
