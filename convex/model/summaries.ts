/**
 * What list pages hold: bounded summaries, not whole documents. A card's context and plan, a run's
 * QA report, retry context and completion can each be large; lists leave them out (or cut them to an
 * excerpt) and `getCard` / `getRun` return them in full.
 */
import { v, type Infer } from "convex/values";
import type { Doc } from "../component/_generated/dataModel.js";
import { vCardStatus, vReviewState, vRunStatus, vUsage } from "../shared/validators.js";
import { excerpt } from "./pages.js";

export const vCardSummary = v.object({
  cardId: v.string(),
  boardId: v.string(),
  stageId: v.string(),
  title: v.string(),
  /** The first 500 characters of the description. */
  description: v.optional(v.string()),
  status: vCardStatus,
  currentRunId: v.optional(v.string()),
  /** The first 500 characters of the last run's QA summary or error. */
  note: v.optional(v.string()),
  createdAt: v.number(),
  /** When the card was archived (listed only with `includeArchived`). */
  archivedAt: v.optional(v.number()),
  /** When its deletion started (it disappears once the scheduled batches are done). */
  deletingAt: v.optional(v.number()),
});
export type CardSummary = Infer<typeof vCardSummary>;
export function cardSummary(c: Doc<"cards">): CardSummary {
  return {
    cardId: c._id,
    boardId: c.boardId,
    stageId: c.stageId,
    title: c.title,
    description: excerpt(c.description),
    status: c.status,
    currentRunId: c.currentRunId,
    note: excerpt(c.note),
    createdAt: c._creationTime,
    ...(c.archivedAt !== undefined ? { archivedAt: c.archivedAt } : {}),
    ...(c.deletingAt !== undefined ? { deletingAt: c.deletingAt } : {}),
  };
}

export const vRunSummary = v.object({
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
  /** Whether the deliverables passed QA, and the first 500 characters of its summary. */
  qa: v.optional(v.object({ ok: v.boolean(), summary: v.string() })),
  /** The error code and the first 500 characters of its message. */
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
  review: v.optional(vReviewState),
});
export type RunSummary = Infer<typeof vRunSummary>;
export function runSummary(r: Doc<"runs">): RunSummary {
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
    qa: r.qa ? { ok: r.qa.ok, summary: excerpt(r.qa.summary)! } : undefined,
    error: r.error ? { code: r.error.code, message: excerpt(r.error.message)! } : undefined,
    review: r.review?.state,
  };
}
