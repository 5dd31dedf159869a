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
export const MAX_LIST_LIMIT = 200;

/** Hard limits: values outside are rejected as absurd. */
/** Output tokens a model turn may produce when the stage does not say (every call sets a limit). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8_192;
/** Characters per token assumed when reserving a turn's input before the call: low, so the reservation is high. */
export const RESERVE_CHARS_PER_TOKEN = 3;
/** Model turns of a card's thread the model sees as context (the agent's recent messages: two per turn). */
export const CONTEXT_TURNS = 50;

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
  maxArtifactBytes: { min: 1, max: 16 * 1024 * 1024 },
  maxRunArtifacts: { min: 1, max: 10_000 },
  maxRunArtifactBytes: { min: 1, max: 1024 * 1024 * 1024 },
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
export const MAX_PLAN_TASKS = 100;
/** Component-written events (e.g. budget_exceeded) use seqs above what a runtime may send. */
export const COMPONENT_EVENT_SEQ_BASE = 1_000_000_001;
export const MAX_WEB_FETCH_BYTES = 512 * 1024;
export const MAX_INBOX_PULL = 20;
