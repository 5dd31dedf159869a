/**
 * What list pages hold: bounded summaries, not whole documents. A card's context and plan, a run's
 * QA report, retry context and completion can each be large; lists leave them out (or cut them to an
 * excerpt) and `getCard` / `getRun` return them in full.
 */
import { v, type Infer } from "convex/values";
import type { Doc } from "../component/_generated/dataModel.js";
import { vReviewState } from "../shared/validators.js";
import { cardCore, cardCoreFields, runCore, runCoreFields } from "./public.js";
import { excerpt } from "./pages.js";

/** A card in a list: everything but its context, with the description and note cut to 500 characters. */
export const vCardSummary = v.object(cardCoreFields);
export type CardSummary = Infer<typeof vCardSummary>;
export function cardSummary(c: Doc<"cards">): CardSummary {
  return { ...cardCore(c), description: excerpt(c.description), note: excerpt(c.note) };
}

/** A run in a list: no QA report, retry context, completion or session. */
export const vRunSummary = v.object({
  ...runCoreFields,
  /** Whether the deliverables passed QA, and the first 500 characters of its summary. */
  qa: v.optional(v.object({ ok: v.boolean(), summary: v.string() })),
  /** The error code and the first 500 characters of its message. */
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
  review: v.optional(vReviewState),
});
export type RunSummary = Infer<typeof vRunSummary>;
export function runSummary(r: Doc<"runs">): RunSummary {
  return {
    ...runCore(r),
    qa: r.qa ? { ok: r.qa.ok, summary: excerpt(r.qa.summary)! } : undefined,
    error: r.error ? { code: r.error.code, message: excerpt(r.error.message)! } : undefined,
    review: r.review?.state,
  };
}
