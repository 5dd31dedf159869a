/**
 * The shapes queries return: documents translated for the parent app (ids as strings, no token hashes,
 * no provider handles). Each `vPublicX` is the `returns` validator of the functions that return it.
 */
import { convexToJson, v, type Infer, type Value } from "convex/values";
import type { Doc } from "../component/_generated/dataModel.js";
import {
  stageFields,
  vBudgetLimit,
  vCardStatus,
  vCompletion,
  vContext,
  vEventLevel,
  vQaReport,
  vRetryContext,
  vReviewState,
  vRunStatus,
  vSessionState,
  vTransitionSource,
  vUsage,
} from "../shared/validators.js";

export const vPublicStage = v.object({ stageId: v.string(), boardId: v.string(), position: v.number(), ...stageFields });
export type PublicStage = Infer<typeof vPublicStage>;
export function publicStage(s: Doc<"stages">): PublicStage {
  const { _id, _creationTime, boardId, ...rest } = s;
  return { stageId: _id, boardId, ...rest };
}

export const vPublicBoard = v.object({
  boardId: v.string(),
  name: v.string(),
  owner: v.optional(v.string()),
  description: v.optional(v.string()),
  createdAt: v.number(),
});
export type PublicBoard = Infer<typeof vPublicBoard>;
export function publicBoard(b: Doc<"boards">): PublicBoard {
  return { boardId: b._id, name: b.name, owner: b.owner, description: b.description, createdAt: b._creationTime };
}

/** What a card's full view and its list summary (model/summaries.ts) have in common. */
export const cardCoreFields = {
  cardId: v.string(),
  boardId: v.string(),
  stageId: v.string(),
  title: v.string(),
  description: v.optional(v.string()),
  status: vCardStatus,
  currentRunId: v.optional(v.string()),
  /** The attempt of `currentRunId` (present exactly when it is), so a board can show it without reading the run. */
  currentAttempt: v.optional(v.number()),
  note: v.optional(v.string()),
  createdAt: v.number(),
  /** When the card was archived (lifecycle.archiveCard); absent when it is not. */
  archivedAt: v.optional(v.number()),
  /** True while lifecycle.deleteCard (or a board delete) removes it. */
  deleting: v.optional(v.boolean()),
};
type CardCore = Infer<ReturnType<typeof v.object<typeof cardCoreFields>>>;
export function cardCore(c: Doc<"cards">): CardCore {
  return {
    cardId: c._id,
    boardId: c.boardId,
    stageId: c.stageId,
    title: c.title,
    description: c.description,
    status: c.status,
    currentRunId: c.currentRunId,
    ...(c.currentAttempt !== undefined ? { currentAttempt: c.currentAttempt } : {}),
    note: c.note,
    createdAt: c._creationTime,
    ...(c.archivedAt !== undefined ? { archivedAt: c.archivedAt } : {}),
    ...(c.deletingAt !== undefined ? { deleting: true } : {}),
  };
}

export const vPublicCard = v.object({ ...cardCoreFields, context: v.optional(vContext) });
export type PublicCard = Infer<typeof vPublicCard>;
export function publicCard(c: Doc<"cards">): PublicCard {
  return { ...cardCore(c), context: c.context };
}

/** What a run's full view and its list summary (model/summaries.ts) have in common. */
export const runCoreFields = {
  runId: v.string(),
  cardId: v.string(),
  boardId: v.string(),
  stageId: v.string(),
  attempt: v.number(),
  generation: v.number(),
  status: vRunStatus,
  workflowId: v.optional(v.string()),
  queuedAt: v.number(),
  startedAt: v.optional(v.number()),
  endedAt: v.optional(v.number()),
  deadline: v.optional(v.number()),
  usage: vUsage,
};
type RunCore = Infer<ReturnType<typeof v.object<typeof runCoreFields>>>;
export function runCore(r: Doc<"runs">): RunCore {
  return {
    runId: r._id,
    cardId: r.cardId,
    boardId: r.boardId,
    stageId: r.stageId,
    attempt: r.attempt,
    generation: r.generation,
    status: r.status,
    workflowId: r.workflowId,
    queuedAt: r.queuedAt,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    deadline: r.deadline,
    usage: r.usage,
  };
}

export const vPublicRun = v.object({
  ...runCoreFields,
  retryContext: v.optional(vRetryContext),
  completion: v.optional(vCompletion),
  qa: v.optional(vQaReport),
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
  review: v.optional(v.object({ state: vReviewState, notes: v.array(v.string()) })),
  /** The budget the agent phase ended on (steps, cost or duration), if it did: what a resume must raise. */
  budget: v.optional(v.object({ limit: vBudgetLimit, message: v.string() })),
  session: v.optional(
    v.object({
      sessionId: v.string(),
      state: vSessionState,
      sandboxId: v.optional(v.string()),
      heartbeatAt: v.optional(v.number()),
      lastActivityAt: v.optional(v.number()),
      endReason: v.optional(v.string()),
    }),
  ),
});
export type PublicRun = Infer<typeof vPublicRun>;
export function publicRun(r: Doc<"runs">, s: Doc<"sessions"> | null): PublicRun {
  return {
    ...runCore(r),
    retryContext: r.retryContext,
    completion: r.completion,
    qa: r.qa,
    error: r.error,
    review: r.review,
    budget: r.budget,
    session: s
      ? {
          sessionId: s._id,
          state: s.state,
          sandboxId: s.sandboxId,
          heartbeatAt: s.heartbeatAt,
          lastActivityAt: s.lastActivityAt,
          endReason: s.endReason,
        }
      : undefined,
  };
}

export const vPublicEvent = v.object({
  seq: v.number(),
  kind: v.string(),
  level: vEventLevel,
  text: v.optional(v.string()),
  data: v.optional(v.any()),
  ts: v.number(),
});
export type PublicEvent = Infer<typeof vPublicEvent>;
export function publicEvent(e: Doc<"events">): PublicEvent {
  return { seq: e.seq, kind: e.kind, level: e.level, text: e.text, data: e.data === undefined ? undefined : eventData(e.data), ts: e.ts };
}

/**
 * An event's stored JSON text as a value a query can return. JSON that no Convex value can hold (object
 * keys starting with `$` or with non-ASCII characters) comes back as `{ jsonText }` instead of breaking
 * every read of the run's events.
 */
function eventData(text: string): unknown {
  const value: unknown = JSON.parse(text);
  try {
    convexToJson(value as Value);
    return value;
  } catch {
    return { jsonText: text };
  }
}

export const vPublicArtifact = v.object({
  artifactId: v.string(),
  runId: v.string(),
  cardId: v.string(),
  stageId: v.string(),
  name: v.string(),
  type: v.string(),
  contentType: v.string(),
  size: v.number(),
  sha256: v.string(),
  version: v.number(),
  superseded: v.boolean(),
  review: vReviewState,
  reviewer: v.optional(v.string()),
  note: v.optional(v.string()),
  createdAt: v.number(),
});
export type PublicArtifact = Infer<typeof vPublicArtifact>;
export function publicArtifact(a: Doc<"artifacts">): PublicArtifact {
  return {
    artifactId: a._id,
    runId: a.runId,
    cardId: a.cardId,
    stageId: a.stageId,
    name: a.name,
    type: a.type,
    contentType: a.contentType,
    size: a.size,
    sha256: a.sha256,
    version: a.version,
    superseded: a.superseded,
    review: a.review,
    reviewer: a.reviewer,
    note: a.note,
    createdAt: a._creationTime,
  };
}

export const vPublicTransition = v.object({
  entity: v.union(v.literal("card"), v.literal("run")),
  runId: v.optional(v.string()),
  from: v.string(),
  to: v.string(),
  source: vTransitionSource,
  reason: v.string(),
  at: v.number(),
});
export type PublicTransition = Infer<typeof vPublicTransition>;
export function publicTransition(t: Doc<"transitions">): PublicTransition {
  return { entity: t.entity, runId: t.runId, from: t.from, to: t.to, source: t.source, reason: t.reason, at: t._creationTime };
}
