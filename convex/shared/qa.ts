/**
 * Deterministic deliverable QA: given the deliverables a stage declares and the artifacts a run
 * produced, decide — without any model in the loop — whether the run delivered.
 *
 * Pure TypeScript for Convex's default V8 runtime: no Node built-ins, no `Buffer`, no `eval`.
 *
 * Conventions the integrator should know:
 * - A deliverable matches the artifact whose `name` is exactly equal (first one wins if the
 *   artifact list has duplicates).
 * - `QaArtifact.size` is authoritative for `non_empty`, `min_bytes` and `max_bytes`; the content
 *   checks read `bytes`. If `bytes` holds fewer bytes than `size` (a truncated download) the
 *   `type` check fails with an explicit "only X of Y bytes" reason instead of passing unverified.
 *   `QaArtifact.type` (whatever the sandbox reported) is never trusted: content is sniffed.
 * - Order of checks per present deliverable: present, non_empty, type, min_bytes, max_bytes,
 *   min_words, max_words, json_schema, regex, contains, not_contains, min_rows, max_rows, columns,
 *   headings, min_pages, min_width, min_height. When `non_empty` or `type` fails, every later check of
 *   that deliverable is OMITTED (not emitted as failing): the failing check's reason already says
 *   what is wrong, and the rest would be noise.
 * - Words are whitespace-separated tokens of the raw text (markup and punctuation tokens count).
 * - `checks.regex` is an RE2 source (see regexCheck.ts: linear time, no backreferences or lookaround)
 *   compiled with no flags and tested (unanchored) against the decoded text, at most its first
 *   `MAX_REGEX_TEXT_CHARS` characters.
 * - `contains`/`notContains` are literal, case-sensitive substrings of the decoded text.
 * - CSV: `minRows`/`maxRows` count data rows (the header excluded); `columns` must each equal a header
 *   field after trimming both; `delimiter` is one of `CSV_DELIMITERS` (default ","); a UTF-8 BOM is
 *   ignored. Markdown `headings` match ATX headings by text (case-insensitive, any level).
 * - PDF `minPages` counts page objects (see `pdfPageCount`); `minWidth`/`minHeight` read the PNG IHDR
 *   chunk or the JPEG SOF marker.
 * - Failing reasons of those newer checks name the deliverable, what was found and what was required.
 * - Each artifact is decoded at most once and JSON is parsed at most once; reasons are capped at
 *   `MAX_REASON_CHARS` so a report stays small.
 *
 * This module is the public surface QA's importers use; the code lives in ./qa/, one file per concern.
 */
export type { QaArtifact } from "./qa/artifact.js";
export { CSV_DELIMITERS, MAX_REASON_CHARS } from "./qa/constants.js";
export { jsonSyntaxError } from "./qa/jsonSyntax.js";
export { csvShape } from "./qa/csv.js";
export { contentMatchesType, countWords } from "./qa/content.js";
export { markdownHeadings } from "./qa/markdown.js";
export { deliverableProblems } from "./qa/declarations.js";
export { checkDeliverable, checkDeliverables, qaReport, type DeliverableResult } from "./qa/checks.js";
export { imageSize, pdfPageCount } from "./fileFacts.js";
