/**
 * A small glob matcher (`*`, `**`, `?`) and a bounded directory walk that never follows symlinks.
 * Paths are workspace-relative with `/` separators; directories carry a trailing `/` in results.
 */
import { opendir } from "node:fs/promises";
import { join } from "node:path";

/** Walks stop (with an error asking for a narrower pattern) after this many entries. */
export const MAX_WALK_ENTRIES = 50_000;

/**
 * Compiles a glob to a RegExp over `/`-separated relative paths.
 * `*` matches within one segment, `?` one character of a segment, `**` as a whole segment any number
 * of segments (including none). Everything else is literal.
 */
export function globToRegExp(pattern: string): RegExp {
  const segs = normalizePattern(pattern)
    .split("/")
    .filter((s, i, all) => !(s === "**" && all[i - 1] === "**"));
  const last = segs.length - 1;
  let out = "";
  segs.forEach((seg, i) => {
    if (seg === "**") {
      if (i === last) out += i === 0 ? ".*" : "(?:/.*)?";
      else out += i === 0 ? "(?:[^/]+/)*" : "/(?:[^/]+/)*";
      return;
    }
    if (i > 0 && segs[i - 1] !== "**") out += "/";
    out += segmentToRegExp(seg);
  });
  return new RegExp(`^${out}$`);
}

function segmentToRegExp(seg: string): string {
  let out = "";
  for (const ch of seg) {
    if (ch === "*") out += out.endsWith("[^/]*") ? "" : "[^/]*";
    else if (ch === "?") out += "[^/]";
    else out += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

/** Strips `./` and duplicate or trailing slashes. */
export function normalizePattern(pattern: string): string {
  return pattern
    .replace(/\\/g, "/")
    .replace(/\/{2,}/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/\/$/, "");
}

/** The leading segments of a pattern without wildcards: where a walk can start. */
export function staticPrefix(pattern: string): string {
  const segs = normalizePattern(pattern).split("/");
  const fixed: string[] = [];
  for (const s of segs.slice(0, -1)) {
    if (/[*?]/.test(s)) break;
    fixed.push(s);
  }
  return fixed.join("/");
}

export type WalkEntry = { rel: string; abs: string; kind: "file" | "dir" | "symlink" | "other" };

/**
 * Yields every entry under `absStart` (whose workspace-relative path is `relStart`), sorted per
 * directory, without following symlinks. Throws after `MAX_WALK_ENTRIES` entries.
 */
export async function* walk(absStart: string, relStart: string): AsyncGenerator<WalkEntry> {
  let seen = 0;
  const stack: Array<{ abs: string; rel: string }> = [{ abs: absStart, rel: relStart }];
  while (stack.length) {
    const dir = stack.pop()!;
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
    for (const e of entries.filter((x) => x.kind === "dir").reverse()) stack.push({ abs: e.abs, rel: e.rel });
  }
}
