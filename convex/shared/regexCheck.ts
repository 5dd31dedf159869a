/**
 * The QA `regex` check on a linear-time engine (re2js, a pure-JS port of RE2): matching costs at most
 * text length × program size, so agent-chosen text cannot stall the deployment the way a backtracking
 * `RegExp` can. RE2 syntax is JavaScript's minus backreferences and lookaround (refused when the stage
 * is saved); `\s`, `\d` and `\w` are ASCII-only, and a code point is written `\x{00e9}`, not `\u00e9`.
 */
import { RE2JS } from "re2js";

/** A regex source longer than this is refused when the stage is saved. */
export const MAX_REGEX_SOURCE_CHARS = 1_000;
/** RE2's own cost measure of a compiled pattern; above this the pattern is refused (e.g. nested large repeats). */
export const MAX_REGEX_PROGRAM_SIZE = 5_000;
/**
 * The text a regex is tested against is at most its first this many characters. Past the cap a match
 * in that prefix passes only when the pattern cannot look past its match (no `$`, `\b`, `\B`, `\z`),
 * because only then is a match in the prefix a match in the whole text; otherwise, and when the prefix
 * has no match, the check fails saying how much was read. The rest of the text is never read.
 */
export const MAX_REGEX_TEXT_CHARS = 1024 * 1024;

export type CompiledRegex = { ok: true; re: RE2JS } | { ok: false; problem: string };

function why(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^error parsing regexp:\s*/, "");
}

/** Compiles a stage's `checks.regex`, or says what is wrong with it and what is allowed. */
export function compileRegex(source: unknown): CompiledRegex {
  if (typeof source !== "string") return { ok: false, problem: "must be a string (a regular expression source without slashes or flags)" };
  if (source.length > MAX_REGEX_SOURCE_CHARS) {
    return { ok: false, problem: `is ${source.length} characters; the limit is ${MAX_REGEX_SOURCE_CHARS}` };
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    return {
      ok: false,
      problem:
        `does not compile on the linear-time engine (${why(e)}); RE2 syntax is allowed: JavaScript's without ` +
        `backreferences (\\1) or lookaround ((?=, (?!, (?<=, (?<!), repeats up to {1000}, code points as \\x{00e9}`,
    };
  }
  if (re.programSize() > MAX_REGEX_PROGRAM_SIZE) {
    return { ok: false, problem: `is too complex (program size ${re.programSize()}; the limit is ${MAX_REGEX_PROGRAM_SIZE}); use smaller repeat counts` };
  }
  return { ok: true, re };
}

/** Assertions that look at the character after a match: a match ending at the cut could be false. */
const LOOKS_PAST_MATCH = /\$|\\[bBz]/;

/** Tests `text` (unanchored) within the text cap; the reason says what was checked. */
export function testRegex(re: RE2JS, source: string, text: string): { ok: boolean; reason: string } {
  if (text.length <= MAX_REGEX_TEXT_CHARS) {
    const ok = re.test(text);
    return { ok, reason: ok ? `matches /${source}/` : `content does not match /${source}/` };
  }
  const read = `the regex check reads the first ${MAX_REGEX_TEXT_CHARS} of its ${text.length} characters`;
  if (LOOKS_PAST_MATCH.test(source)) {
    return { ok: false, reason: `cannot check /${source}/: ${read}, and a pattern with $, \\b, \\B or \\z cannot be decided on a prefix; shorten the file or drop the anchor` };
  }
  const ok = re.test(text.slice(0, MAX_REGEX_TEXT_CHARS));
  return ok
    ? { ok, reason: `matches /${source}/ within the first ${MAX_REGEX_TEXT_CHARS} characters` }
    : { ok, reason: `no match for /${source}/: ${read}; put the matching part earlier` };
}
