/** Every default of Lakitu in one place. Resolution: per call ?? stage ?? stored config ?? these. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;
/** Heartbeats more frequent than this (or than a quarter of the heartbeat timeout, if less) are acknowledged without a write. */
export const HEARTBEAT_WRITE_DEBOUNCE_MS = 10_000;
/** Activity (events, uploads) is written at most this often per session. */
export const ACTIVITY_WRITE_DEBOUNCE_MS = 10_000;
/** An `intended` session older than this with no sandbox is reconciled by the reaper. */
export const DEFAULT_PROVISION_GRACE_MS = 5 * 60_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_DURATION_MS = 30 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_MAX_EVENT_BATCH = 100;
export const DEFAULT_MAX_EVENT_BYTES = 16 * 1024;
export const DEFAULT_MAX_ARTIFACT_BYTES = 10 * 1024 * 1024;
/** Per run: artifact versions stored, and their bytes together (a runaway agent cannot fill storage). */
export const DEFAULT_MAX_RUN_ARTIFACTS = 100;
export const DEFAULT_MAX_RUN_ARTIFACT_BYTES = 100 * 1024 * 1024;
/** Extra time the sandbox provider keeps a sandbox past the run deadline before killing it itself. */
export const SANDBOX_TIMEOUT_SLACK_MS = 60_000;
/** The reaper handles at most this many due sessions per tick; the rest wait for the next tick. */
export const REAP_BATCH = 50;
/**
 * Index ranges one reaped session may cost (measured: 12.5 — the session, its run, card and
 * settings, transitions, the workflow event, the kill; reaper.test.ts fails if it grows past this).
 */
export const REAP_RANGES_PER_SESSION = 16;
/** A tick's share of Convex's 4,096 index ranges per transaction (a quarter: the rest is headroom). */
export const REAP_TICK_RANGE_BUDGET = 1_024;
/** `reap({ limit })` is clamped to this: REAP_TICK_RANGE_BUDGET / REAP_RANGES_PER_SESSION = 64. */
export const REAP_MAX_BATCH = REAP_TICK_RANGE_BUDGET / REAP_RANGES_PER_SESSION;
export const MAX_LIST_LIMIT = 200;

/** Data lifecycle (lifecycle.ts): each deletion or retention transaction touches at most this many documents. */
export const DELETE_BATCH = 200;
/** A deletion waiting for a sandbox kill to be confirmed looks again after this long. */
export const DELETE_WAIT_MS = 5_000;
/** A finished card-run workflow's journal is cleaned up (workflow.cleanup) this long after it completes. */
export const WORKFLOW_CLEANUP_DELAY_MS = 24 * 3_600_000;
/** A card's context variables together, as UTF-8 JSON, may be at most this many bytes. */
export const MAX_CONTEXT_BYTES = 64 * 1024;
export const MAX_CONTEXT_VARIABLES = 100;
/** Per run: events stored, and versions of one artifact name (beyond maxRunArtifacts / maxRunArtifactBytes). */
export const DEFAULT_MAX_RUN_EVENTS = 20_000;
export const DEFAULT_MAX_ARTIFACT_VERSIONS_PER_NAME = 50;

/** Hard limits: values outside are rejected as absurd. */
/** Output tokens a model turn may produce when the stage does not say (every call sets a limit). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8_192;
/** Characters per token assumed when reserving a turn's input before the call: low, so the reservation is high. */
export const RESERVE_CHARS_PER_TOKEN = 3;
/**
 * What a model turn sees besides the system prompt (README "Models"): at most MODEL_CONTEXT_MESSAGES
 * recent messages of the card's thread from the current stage only, newest first until
 * MODEL_CONTEXT_HISTORY_CHARS, and the observation cut to MAX_MODEL_OBSERVATION_CHARS.
 */
export const MODEL_CONTEXT_MESSAGES = 30;
export const MODEL_CONTEXT_HISTORY_CHARS = 200_000;
export const MAX_MODEL_OBSERVATION_CHARS = 32_000;
/** Model turns of a card's thread the model sees as context (the agent's recent messages: two per turn). */
export const CONTEXT_TURNS = MODEL_CONTEXT_MESSAGES / 2;

/** A resumed run gets back at most this many of the paused run's files, each at most this size (they cross as a function's return value). */
export const MAX_RESTORE_FILES = 100;
export const MAX_RESTORE_BYTES = 8 * 1024 * 1024;

export const HARD_LIMITS = {
  maxAttempts: { min: 1, max: 20 },
  maxDurationMs: { min: 1_000, max: 24 * 3_600_000 },
  maxSteps: { min: 1, max: 10_000 },
  maxCostUsd: { min: 0, max: 10_000 },
  maxOutputTokens: { min: 16, max: 200_000 },
  idleTimeoutMs: { min: 1_000, max: 24 * 3_600_000 },
  wipLimit: { min: 1, max: 10_000 },
  heartbeatTimeoutMs: { min: 1_000, max: 3_600_000 },
  provisionGraceMs: { min: 1_000, max: 24 * 3_600_000 },
  maxEventBatch: { min: 1, max: 1_000 },
  maxEventBytes: { min: 256, max: 256 * 1024 },
  // Uploads go to storage upload URLs (convex/shared/uploadLimits.ts), so the cap is not Convex's argument limit.
  maxArtifactBytes: { min: 1, max: 1024 * 1024 * 1024 },
  maxRunArtifacts: { min: 1, max: 10_000 },
  maxRunArtifactBytes: { min: 1, max: 1024 * 1024 * 1024 },
  maxRunEvents: { min: 1, max: 1_000_000 },
  maxArtifactVersionsPerName: { min: 1, max: 10_000 },
  retentionDays: { min: 1, max: 3_650 },
} as const;

export const MAX_STAGES = 50;
export const MAX_DELIVERABLES = 50;
export const MAX_NAME_LENGTH = 200;
export const MAX_TEXT_LENGTH = 20_000;
/** How long after asking for a kill the reaper retries it if the provider never confirmed. */
export const KILL_RETRY_MS = 60_000;
export const KILL_MAX_TRIES = 5;
/** Retry policy of the provision step for retryable provider errors (429, 503, network). */
export const PROVISION_RETRY = { maxAttempts: 4, initialBackoffMs: 1_000, base: 2 } as const;
export const MAX_INBOX_MESSAGE = 8_000;
/** Config `redact`: entries and characters per entry (`secrets` names: at most 50, see shared/redact.ts). */
export const MAX_REDACT_ENTRIES = 50;
export const MAX_REDACT_ENTRY_CHARS = 256;
export const MAX_PLAN_TASKS = 100;
/** Component-written events (e.g. budget_exceeded) use seqs above what a runtime may send. */
export const COMPONENT_EVENT_SEQ_BASE = 1_000_000_001;
export const MAX_WEB_FETCH_BYTES = 512 * 1024;
export const MAX_INBOX_PULL = 20;
