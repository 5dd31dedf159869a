/** QA's limits and type lists: reason and summary caps, which deliverable types exist and which are text. */
import type { DeliverableType } from "../validators.js";

export const MAX_REASON_CHARS = 300;
export const MAX_SUMMARY_CHARS = 1000;
export const TEXT_TYPES: readonly DeliverableType[] = ["markdown", "json", "csv", "text", "html"];
export const ALL_TYPES: readonly DeliverableType[] = ["markdown", "json", "csv", "pdf", "png", "jpeg", "text", "html", "file"];
/** The CSV delimiters `checks.delimiter` accepts. */
export const CSV_DELIMITERS: readonly string[] = [",", ";", "\t", "|"];

export function isTextType(t: DeliverableType): boolean {
  return TEXT_TYPES.includes(t);
}
