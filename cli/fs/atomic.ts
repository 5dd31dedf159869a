/**
 * All-or-nothing writes: every file goes to a temporary sibling first, then each is renamed over its
 * target. If any step fails, the files already renamed get their old content back, new files and
 * folders are removed, and the temporaries are deleted — so the tree is as it was before.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export type FileWrite = { path: string; content: string };

/** For tests: called before each rename, to inject a failure mid-way. */
export type ApplyHooks = { beforeRename?: (path: string, index: number) => void };

export function writeFilesAtomically(writes: FileWrite[], hooks: ApplyHooks = {}): void {
  const createdDirs: string[] = [];
  const staged: Array<{ tmp: string; target: string; previous: string | undefined }> = [];
  const renamed: typeof staged = [];
  try {
    for (const w of writes) {
      for (const dir of missingDirs(dirname(w.path))) {
        mkdirSync(dir);
        createdDirs.push(dir);
      }
      const tmp = join(dirname(w.path), `.${basename(w.path)}.lakitu-${randomBytes(4).toString("hex")}.tmp`);
      const previous = existsSync(w.path) ? readFileSync(w.path, "utf8") : undefined;
      staged.push({ tmp, target: w.path, previous });
      writeFileSync(tmp, w.content);
    }
    staged.forEach((s, i) => {
      hooks.beforeRename?.(s.target, i);
      renameSync(s.tmp, s.target);
      renamed.push(s);
    });
  } catch (e) {
    for (const s of renamed.reverse()) {
      if (s.previous === undefined) rmSync(s.target, { force: true });
      else writeFileSync(s.target, s.previous);
    }
    for (const s of staged) rmSync(s.tmp, { force: true });
    for (const dir of createdDirs.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty: something else lives there now
      }
    }
    throw e;
  }
}

/** The folders above `dir` (and `dir` itself) that do not exist yet, outermost first. */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    out.unshift(d);
    if (dirname(d) === d) break;
  }
  return out;
}
