/**
 * Glob matching (picomatch) and a bounded directory walk that never follows symlinks.
 * Paths are workspace-relative with `/` separators; directories carry a trailing `/` in results.
 *
 * Patterns (see `globToRegExp`): `*`, `?`, `**`, braces `{a,b}` and ranges `{1..3}`, classes `[abc]`,
 * `[a-z]`, negated classes `[!a]`/`[^a]`, POSIX classes `[[:digit:]]`, and extglobs `+(a|b)`,
 * `*(a|b)`, `?(a)`, `@(a|b)`, `!(a)`. Dotfiles match like any other name. A leading `!` is a literal
 * character (no whole-pattern negation), plain parentheses not opening an extglob are literal (so
 * `file (1).txt` matches itself), and a backslash is a path separator like `/`; to match a special
 * character literally, put it in a class: `[*]`, `[[]`, `[{]`.
 */
import { opendir } from "node:fs/promises";
import { join } from "node:path";
import picomatch from "picomatch";

/** Walks stop (with an error asking for a narrower pattern) after this many entries. */
export const MAX_WALK_ENTRIES = 50_000;
/** Walks stop (with an error) at folders nested deeper than this below the start. */
export const MAX_WALK_DEPTH = 64;
/** Longer patterns are refused (the file KSA's own limit too). */
export const MAX_PATTERN_LENGTH = 1024;

const OPTIONS: picomatch.PicomatchOptions = {
  dot: true, // dotfiles are ordinary names in a workspace (and were matched before picomatch)
  nonegate: true, // a leading "!" is literal: a negated pattern would make the walk's start meaningless
  posix: true, // [!a] negation and [[:alpha:]] classes
  strictBrackets: true, // an unbalanced [ ( { is an error, not a silently different pattern
  windows: false, // paths are "/"-separated whatever the host
  debug: true, // a pattern that compiles to an invalid RegExp throws instead of matching nothing
};

/**
 * Compiles a glob to a RegExp over `/`-separated relative paths (picomatch). `*` matches within one
 * segment, `?` one character of a segment, `**` as a whole segment any number of segments (including
 * none); see the module comment for the rest. Throws a clear error for an invalid or too long pattern.
 */
export function globToRegExp(pattern: string): RegExp {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new Error(`pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed`);
  }
  const norm = normalizePattern(pattern);
  if (norm === "") throw new Error(`pattern ${JSON.stringify(pattern)} is empty; use "**" for everything`);
  try {
    return picomatch.makeRe(literalParens(norm), OPTIONS);
  } catch (e) {
    throw new Error(`pattern ${JSON.stringify(pattern)} is not a valid glob: ${explain(e instanceof Error ? e.message : String(e))}`);
  }
}

const PAIRS: Record<string, string> = { "]": "[", ")": "(", "}": "{" };

/** picomatch's "Missing closing/opening" errors, said in terms of what the pattern has too much of. */
function explain(message: string): string {
  const m = /^Missing (closing|opening): "(.)"/.exec(message);
  if (!m) return message;
  if (m[1] === "closing") {
    const open = PAIRS[m[2]] ?? m[2];
    return `"${open}" is never closed by "${m[2]}" (to match "${open}" literally, write "[${open}]")`;
  }
  const close = Object.keys(PAIRS).find((k) => PAIRS[k] === m[2]) ?? m[2];
  return `"${close}" has no opening "${m[2]}" (to match "${close}" literally, write "[${close}]")`;
}

/**
 * Escapes parentheses that do not open an extglob (`+(`, `*(`, `?(`, `@(`, `!(`), and `|` outside
 * extglobs: picomatch would read them as regex groups and alternation, so `file (1).txt` would not
 * match the file of that name.
 */
function literalParens(pattern: string): string {
  let out = "";
  const groups: boolean[] = []; // per open "(": true when it opened an extglob
  let inClass = false;
  let prevOperator = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const wasOperator = prevOperator;
    prevOperator = false;
    if (inClass) {
      if (c === "]" && pattern[i - 1] !== "[" && !(pattern[i - 1] === "!" && pattern[i - 2] === "[")) inClass = false;
      out += c;
    } else if (c === "[") {
      inClass = true;
      out += c;
    } else if (c === "(") {
      groups.push(wasOperator);
      out += wasOperator ? c : "\\(";
    } else if (c === ")") {
      out += groups.length > 0 && groups.pop() ? c : "\\)";
    } else if (c === "|") {
      out += groups.length > 0 && groups[groups.length - 1] ? c : "\\|";
    } else {
      prevOperator = "?*+@!".includes(c);
      out += c;
    }
  }
  return out;
}

/** Strips `./` and duplicate or trailing slashes; backslashes are separators. */
export function normalizePattern(pattern: string): string {
  return pattern
    .replace(/\\/g, "/")
    .replace(/\/{2,}/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/\/$/, "");
}

/** Characters that may make a segment match more than its literal self. */
const MAGIC = /[*?[\]{}()!+@|]/;

/** The leading segments of a pattern without glob syntax: where a walk can start. */
export function staticPrefix(pattern: string): string {
  const segs = normalizePattern(pattern).split("/");
  const fixed: string[] = [];
  for (const s of segs.slice(0, -1)) {
    if (MAGIC.test(s)) break;
    fixed.push(s);
  }
  return fixed.join("/");
}

export type WalkEntry = { rel: string; abs: string; kind: "file" | "dir" | "symlink" | "other" };

/**
 * Yields every entry under `absStart` (whose workspace-relative path is `relStart`), sorted per
 * directory, without following symlinks (a symlink is yielded as such and never entered). Throws
 * after `MAX_WALK_ENTRIES` entries, or at folders more than `MAX_WALK_DEPTH` levels down.
 */
export async function* walk(absStart: string, relStart: string): AsyncGenerator<WalkEntry> {
  let seen = 0;
  const stack: Array<{ abs: string; rel: string; depth: number }> = [{ abs: absStart, rel: relStart, depth: 0 }];
  while (stack.length) {
    const dir = stack.pop()!;
    if (dir.depth > MAX_WALK_DEPTH) {
      throw new Error(`folders are nested more than ${MAX_WALK_DEPTH} levels deep under "${relStart || "."}" (at "${dir.rel}"); use a narrower path or pattern`);
    }
    let handle;
    try {
      handle = await opendir(dir.abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES") continue;
      throw e;
    }
    const entries: WalkEntry[] = [];
    for await (const d of handle) {
      if (++seen > MAX_WALK_ENTRIES) {
        throw new Error(`more than ${MAX_WALK_ENTRIES} entries under "${relStart || "."}"; use a narrower path or pattern`);
      }
      const rel = dir.rel ? `${dir.rel}/${d.name}` : d.name;
      const kind = d.isSymbolicLink() ? "symlink" : d.isDirectory() ? "dir" : d.isFile() ? "file" : "other";
      entries.push({ rel, abs: join(dir.abs, d.name), kind });
    }
    entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    for (const e of entries) yield e;
    for (const e of entries.filter((x) => x.kind === "dir").reverse()) stack.push({ abs: e.abs, rel: e.rel, depth: dir.depth + 1 });
  }
}
