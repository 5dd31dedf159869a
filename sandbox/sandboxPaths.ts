/**
 * A sandbox's directories on the host and how sandbox paths map onto them.
 *
 * Layout: `<root>/<sandboxId>/` holds `home/` (the sandbox's `/home/user`), `workspace/` (its
 * `/home/user/workspace`) and `tmp/` (its `/tmp`). Only these three are writable by the sandbox, and only
 * paths under them are reachable through the files API: everything else in a sandbox is the host's
 * read-only system directories.
 */
import { chownSync, closeSync, fchownSync, fstatSync, mkdirSync, openSync, readlinkSync, constants as fsc } from "node:fs";
import path from "node:path";

export const SANDBOX_HOME = "/home/user";
export const SANDBOX_WORKSPACE = "/home/user/workspace";
export const SANDBOX_TMP = "/tmp";

export type SandboxDirs = { dir: string; home: string; workspace: string; tmp: string };

export function sandboxDirs(root: string, sandboxId: string): SandboxDirs {
  const dir = path.join(root, sandboxId);
  return { dir, home: path.join(dir, "home"), workspace: path.join(dir, "workspace"), tmp: path.join(dir, "tmp") };
}

/** Normalizes a sandbox path: relative paths are relative to `/home/user` (as in envd); `..` cannot climb above `/`. */
export function normalizeSandboxPath(p: string): string {
  const abs = p.startsWith("/") ? p : path.posix.join(SANDBOX_HOME, p.startsWith("~/") ? p.slice(2) : p);
  return path.posix.normalize(abs).replace(/\/+$/, "") || "/";
}

function under(p: string, base: string): string | undefined {
  if (p === base) return "";
  return p.startsWith(base + "/") ? p.slice(base.length + 1) : undefined;
}

/**
 * The host path behind a sandbox path and the host directory it must stay inside, or undefined when the
 * path is not in a writable sandbox directory.
 */
export function hostPathFor(dirs: SandboxDirs, sandboxPath: string): { hostPath: string; base: string } | undefined {
  const p = normalizeSandboxPath(sandboxPath);
  if (p.includes("\0")) return undefined;
  let rest = under(p, SANDBOX_WORKSPACE);
  if (rest !== undefined) return { hostPath: path.join(dirs.workspace, rest), base: dirs.workspace };
  rest = under(p, SANDBOX_HOME);
  if (rest !== undefined) return { hostPath: path.join(dirs.home, rest), base: dirs.home };
  rest = under(p, SANDBOX_TMP);
  if (rest !== undefined) return { hostPath: path.join(dirs.tmp, rest), base: dirs.tmp };
  return undefined;
}

export class PathEscapeError extends Error {}

export class NotAFileError extends Error {}

/**
 * Opens a host file for reading without letting the sandbox redirect the host elsewhere: whatever
 * symlinks the sandbox planted along the path, the file actually opened must lie inside `base` (checked
 * on the open descriptor). Non-blocking, so a FIFO the sandbox planted cannot hang the host; only
 * regular files are served.
 */
export function openForRead(hostPath: string, base: string): number {
  const fd = openSync(hostPath, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real !== base && !real.startsWith(base + "/")) throw new PathEscapeError("path resolves outside the sandbox");
    if (!fstatSync(fd).isFile()) throw new NotAFileError("not a regular file");
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Opens (creating it and its missing parents) a host file for writing, walking from `base` one
 * component at a time through the directory descriptor already opened — `/proc/self/fd/<dir>/<name>`
 * resolves against that descriptor, like `openat` — and never through a symlink. So no path the
 * sandbox controls, not even one it swaps mid-walk, can make the host create or write a file outside.
 * `chown` (the sandbox's own uid) is applied to what gets created. Not truncated: the caller does that.
 */
export function openForWrite(hostPath: string, base: string, owner?: number): number {
  const rel = path.relative(base, hostPath);
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) throw new PathEscapeError("path is outside the sandbox");
  const parts = rel.split(path.sep);
  const name = parts.pop()!;
  const dirFlags = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
  let dir = openSync(base, dirFlags);
  try {
    for (const part of parts) {
      const at = `/proc/self/fd/${dir}/${part}`;
      try {
        mkdirSync(at, 0o755);
        if (owner !== undefined) chownSync(at, owner, owner);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const next = openSync(at, dirFlags); // ELOOP for a symlink, ENOTDIR for a file
      closeSync(dir);
      dir = next;
    }
    const fd = openSync(`/proc/self/fd/${dir}/${name}`, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK, 0o644);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new NotAFileError("not a regular file");
    }
    if (owner !== undefined) fchownSync(fd, owner, owner);
    return fd;
  } finally {
    closeSync(dir);
  }
}
