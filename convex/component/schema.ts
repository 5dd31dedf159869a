/**
 * Lakitu's tables. Each field says who writes it (W) and who reads it (R) where that is not obvious.
 * Every query uses one of the indexes below and is bounded; big things (artifact bytes) live in file
 * storage, never in documents.
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import {
  stageFields,
  vCardStatus,
  vContext,
  vEventLevel,
  vQaReport,
  vRetryContext,
  vReviewState,
  vRunStatus,
  vSessionState,
  vTransitionSource,
  vUsage,
  vCompletion,
  vConfigPatch,
  vPlanTask,
  vBudgetLimit,
  vRunSettings,
} from "../shared/validators.js";

export default defineSchema({
  boards: defineTable({
    name: v.string(),
    /** Opaque reference to the parent app's owner (user, team); the component never interprets it. */
    owner: v.optional(v.string()),
    description: v.optional(v.string()),
    /** Totals of every run on the board; W: each settled turn and each ended session. */
    usage: v.optional(vUsage),
    /** Set by lifecycle.deleteBoard; the board's cards and stages are being removed in batches. */
    deletingAt: v.optional(v.number()),
  }).index("by_owner", ["owner"]),

  stages: defineTable({
    boardId: v.id("boards"),
    /** 0-based order on the board; W: boards.createBoard/addStage. */
    position: v.number(),
    ...stageFields,
  }).index("by_board_position", ["boardId", "position"]),

  cards: defineTable({
    boardId: v.id("boards"),
    stageId: v.id("stages"),
    title: v.string(),
    description: v.optional(v.string()),
    context: v.optional(vContext),
    status: vCardStatus,
    /** W: runs.runCard, the workflow; R: everyone. The run that owns the card right now. */
    currentRunId: v.optional(v.id("runs")),
    /** W: the run start, with `currentRunId`, and cleared with it; R: boards. The attempt of `currentRunId`. */
    currentAttempt: v.optional(v.number()),
    /** Monotonic per card; each run takes the next value and every runtime call must carry it. */
    generation: v.number(),
    /** The last run's QA report or error in one line, for boards to show. */
    note: v.optional(v.string()),
    /** The agent conversation of this card (agent component thread); retries continue it. */
    threadId: v.optional(v.string()),
    /** Legacy: the plan lives in `planTasks` (so the card cannot grow mid-run). Written by nothing, read by nothing. */
    plan: v.optional(v.array(vPlanTask)),
    /** Totals of every run of the card; W: each settled turn and each ended session. */
    usage: v.optional(vUsage),
    /** W: lifecycle.archiveCard/restoreCard. An archived card is hidden from lists unless asked for. */
    archivedAt: v.optional(v.number()),
    /** W: lifecycle.deleteCard (or a board delete). Its runs and data are being removed in batches. */
    deletingAt: v.optional(v.number()),
  })
    .index("by_board_stage", ["boardId", "stageId"])
    /** Lists without archived cards: `.eq("boardId", b).eq("archivedAt", undefined)[.eq("stageId", s)]`. */
    .index("by_board_archived_stage", ["boardId", "archivedAt", "stageId"])
    .index("by_stage_status", ["stageId", "status"]),

  runs: defineTable({
    cardId: v.id("cards"),
    boardId: v.id("boards"),
    stageId: v.id("stages"),
    attempt: v.number(),
    generation: v.number(),
    status: vRunStatus,
    /** The workflow that drives this run (string id of the nested workflow component). */
    workflowId: v.optional(v.string()),
    sessionId: v.optional(v.id("sessions")),
    /** Function handle of the app-owned provider action; W: runCard. */
    providerHandle: v.string(),
    /** Base URL the runtime calls back, e.g. https://<deployment>.convex.site/lakitu */
    callbackUrl: v.string(),
    queuedAt: v.number(),
    startedAt: v.optional(v.number()),
    endedAt: v.optional(v.number()),
    /** Absolute ms; W: provision (startedAt + maxDurationMs); R: watchdog, reaper. */
    deadline: v.optional(v.number()),
    retryContext: v.optional(vRetryContext),
    completion: v.optional(vCompletion),
    qa: v.optional(vQaReport),
    usage: vUsage,
    /** Why a run ended other than by success; machine code + human message. */
    error: v.optional(v.object({ code: v.string(), message: v.string() })),
    /** Set when the stage requires approval; W: reviewArtifact; R: workflow. */
    review: v.optional(v.object({ state: vReviewState, notes: v.array(v.string()) })),
    /** Attempts left after this one before the card is blocked; W: startRun. */
    retriesLeft: v.number(),
    /** The E2B template (and build version, from `lakitu publish`) this run is pinned to; W: startRun. */
    template: v.optional(v.string()),
    templateVersion: v.optional(v.string()),
    /** The budget the agent phase ended on, if it did (steps, cost or duration); W: model/budget.ts. */
    budget: v.optional(v.object({ limit: vBudgetLimit, message: v.string() })),
    /** Artifact versions the run stored and their bytes, against its quota; W: runtime.recordArtifact. */
    stored: v.optional(v.object({ artifacts: v.number(), bytes: v.number() })),
    /** Runtime events the run stored, against configure maxRunEvents; W: runtime.events. */
    eventCount: v.optional(v.number()),
    /** The paused run this one resumes (resumeCard): its thread continues and its files are restored. */
    resumedFrom: v.optional(v.id("runs")),
    /** Limits raised for this run by resumeCard (over the stage's). */
    raised: v.optional(v.object({ maxSteps: v.optional(v.number()), maxCostUsd: v.optional(v.number()), maxDurationMs: v.optional(v.number()) })),
    /** True once the agent-done event was sent to the workflow (first terminal writer). */
    agentDoneSent: v.optional(v.boolean()),
    /**
     * The stage settings this run uses (a `runSettings` row, apart so the run stays far below the
     * document limit whatever the stage holds); W: startRun; R: through model/settings.ts. Runs made
     * before it existed have none and read their stage.
     */
    settingsId: v.optional(v.id("runSettings")),
  })
    .index("by_card_stage_attempt", ["cardId", "stageId", "attempt"])
    .index("by_card", ["cardId"])
    .index("by_status", ["status"]),

  /** A run's copy of its stage's settings, taken when the run starts; never changed. W: startRun. */
  runSettings: defineTable({ runId: v.id("runs"), ...vRunSettings.fields }).index("by_run", ["runId"]),

  sessions: defineTable({
    runId: v.id("runs"),
    cardId: v.id("cards"),
    generation: v.number(),
    providerHandle: v.string(),
    state: vSessionState,
    sandboxId: v.optional(v.string()),
    /** SHA-256 (hex) of the bearer token; the token itself is never stored. Cleared on revoke. */
    tokenHash: v.optional(v.string()),
    revokedAt: v.optional(v.number()),
    intendedAt: v.number(),
    startedAt: v.optional(v.number()),
    heartbeatAt: v.optional(v.number()),
    lastActivityAt: v.optional(v.number()),
    deadline: v.optional(v.number()),
    idleTimeoutMs: v.number(),
    heartbeatTimeoutMs: v.number(),
    /** When the reaper should look at this session (idle limit, deadline or provision grace). Only live sessions have it. */
    reapAt: v.optional(v.number()),
    /** The scheduled watchdog; re-armed on heartbeat. */
    watchdogId: v.optional(v.id("_scheduled_functions")),
    endedAt: v.optional(v.number()),
    endReason: v.optional(v.string()),
  })
    .index("by_run", ["runId"])
    .index("by_sandbox", ["sandboxId"])
    .index("by_state_reapAt", ["state", "reapAt"]),

  events: defineTable({
    runId: v.id("runs"),
    seq: v.number(),
    kind: v.string(),
    level: vEventLevel,
    text: v.optional(v.string()),
    /** JSON text (any JSON, including `$` keys Convex fields cannot hold), redacted and size-capped. */
    data: v.optional(v.string()),
    /** Time the runtime stamped; receipt time is _creationTime. */
    ts: v.number(),
  }).index("by_run_seq", ["runId", "seq"]),

  artifacts: defineTable({
    runId: v.id("runs"),
    cardId: v.id("cards"),
    stageId: v.id("stages"),
    name: v.string(),
    type: v.string(),
    contentType: v.string(),
    size: v.number(),
    sha256: v.string(),
    storageId: v.id("_storage"),
    /** 1 for the first upload of a name in a run; a changed re-upload adds version + 1 and supersedes. */
    version: v.number(),
    superseded: v.boolean(),
    review: vReviewState,
    reviewer: v.optional(v.string()),
    note: v.optional(v.string()),
    reviewedAt: v.optional(v.number()),
  })
    .index("by_run_name", ["runId", "name", "version"])
    /** R: the current (latest) version of each name, without reading superseded ones (QA, manifests). */
    .index("by_run_current", ["runId", "superseded", "name"])
    /** R: runtime.commitArtifact (a storage id is committed once; a retried commit finds its artifact). */
    .index("by_storage", ["storageId"])
    .index("by_card", ["cardId"])
    /** R: retention (superseded versions older than N days). */
    .index("by_superseded", ["superseded"]),

  /**
   * One model turn: reserved (its worst-case cost counted against the budget) before the model is
   * called, settled with the actual tokens and cost after, or released if the call failed and may be
   * retried. At most one is reserved per run at a time. W: gateway.beginTurn/endTurn.
   */
  turns: defineTable({
    runId: v.id("runs"),
    cardId: v.id("cards"),
    step: v.number(),
    model: v.string(),
    status: v.union(v.literal("reserved"), v.literal("settled"), v.literal("released")),
    /** Worst case held against maxCostUsd while the call is in flight. */
    reservedUsd: v.number(),
    /** Characters sent (observation) and received (reply): the next turns' context estimate. */
    promptChars: v.number(),
    replyChars: v.optional(v.number()),
    inputTokens: v.optional(v.number()),
    cachedInputTokens: v.optional(v.number()),
    outputTokens: v.optional(v.number()),
    costUsd: v.optional(v.number()),
    /** Where costUsd came from: the provider's own figure, or tokens × the price table. */
    costSource: v.optional(v.union(v.literal("provider"), v.literal("price"), v.literal("unpriced"))),
    priceSource: v.optional(v.string()),
    /** The reply, kept on the run's newest settled turn only, for a runtime that lost the answer. */
    reply: v.optional(v.string()),
    reservedAt: v.number(),
    settledAt: v.optional(v.number()),
  })
    .index("by_run_step", ["runId", "step"])
    .index("by_card", ["cardId"]),

  /**
   * The agent's task list of a card, one row per task, kept across runs (at most MAX_PLAN_TASKS).
   * W: gateway.planOp (the `plan` KSA); R: planOp and the task of a resumed run.
   */
  planTasks: defineTable({
    cardId: v.id("cards"),
    /** 1-based order of creation; the task's public id is `t<seq>`. */
    seq: v.number(),
    title: v.string(),
    kind: vPlanTask.fields.kind,
    status: vPlanTask.fields.status,
    note: v.optional(v.string()),
  }).index("by_card_seq", ["cardId", "seq"]),

  inbox: defineTable({
    runId: v.id("runs"),
    seq: v.number(),
    text: v.string(),
    author: v.optional(v.string()),
    deliveredAt: v.optional(v.number()),
  }).index("by_run_seq", ["runId", "seq"]),

  transitions: defineTable({
    entity: v.union(v.literal("card"), v.literal("run")),
    cardId: v.id("cards"),
    runId: v.optional(v.id("runs")),
    from: v.string(),
    to: v.string(),
    source: vTransitionSource,
    reason: v.string(),
  })
    .index("by_card", ["cardId"])
    .index("by_run", ["runId"]),

  /** Singleton; W: config.configure; R: everything through model/config.ts getConfig. */
  config: defineTable(vConfigPatch),
});
