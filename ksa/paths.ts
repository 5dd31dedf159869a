/**
 * Workspace confinement for every path a KSA receives. A path must be relative, must not climb out
 * with `..`, and must not reach outside through a symlink: the nearest existing ancestor of the target
 * is resolved with `fs.realpath` and has to lie inside the (real) workspace.
 */
import { lstat, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

export type ConfinedPath = {
  /** Absolute path with every symlink resolved; use it for the actual file operation. */
  real: string;
  /** The same path relative to the root, with `/` separators ("" for the root itself). */
  rel: string;
};

/**
 * Resolves `path` (relative to `root`) to a real path inside `root`, or throws an Error the agent can
 * act on. `what` names the argument in messages ("path", "cwd", ...).
 */
export async function confine(root: string, path: string, what = "path"): Promise<ConfinedPath> {
  if (typeof path !== "string") throw new Error(`${what} must be a string`);
  if (path.includes("\0")) throw new Error(`${what} contains a NUL character`);
  if (isAbsolute(path) || /^[a-zA-Z]:[\\/]/.test(path)) {
    throw new Error(`${what} "${path}" is absolute; give a path relative to the workspace`);
  }
  if (path.startsWith("~")) throw new Error(`${what} "${path}" starts with "~"; give a path relative to the workspace`);
  const realRoot = await realpath(root);
  const lexical = resolve(realRoot, path);
  if (!isInside(realRoot, lexical)) throw new Error(`${what} "${path}" escapes the workspace`);

  // Walk up to the nearest entry that exists (a dangling symlink counts as existing) and resolve it.
  let existing = lexical;
  const missing: string[] = [];
  for (;;) {
    const st = await lstat(existing).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return null;
      throw e;
    });
    if (st) break;
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
  let real: string;
  try {
    real = await realpath(existing);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") {
      throw new Error(`${what} "${path}" goes through a symlink whose target does not exist; refusing to follow it`);
    }
    throw e;
  }
  if (!isInside(realRoot, real)) throw new Error(`${what} "${path}" resolves through a symlink to outside the workspace`);
  const full = missing.length ? join(real, ...missing) : real;
  return { real: full, rel: toRel(realRoot, full) };
}

/** `child` is `root` or below it. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

export function toRel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join("/");
}
