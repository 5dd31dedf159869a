/**
 * A sandbox's directories on the host and how sandbox paths map onto them.
 *
 * Layout: `<root>/<sandboxId>/` holds `home/` (the sandbox's `/home/user`), `workspace/` (its
 * `/home/user/workspace`), `tmp/` (its `/tmp`), `root/` (its `/root`, root's only) and `run/` (its
 * `/run/lakitu`: the component bridge socket, root's only). Only these are writable by the sandbox, and
 * only paths under home, workspace, tmp and root are reachable through the files API: everything else in
 * a sandbox is the host's read-only system directories.
 */
import {
  chownSync,
  closeSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  statSync,
  constants as fsc,
} from "node:fs";
import path from "node:path";
import { chmod, chown, mkdir } from "node:fs/promises";
import { mayAccess, type HostIds } from "./sandboxUsers.js";

export const SANDBOX_HOME = "/home/user";
export const SANDBOX_WORKSPACE = "/home/user/workspace";
export const SANDBOX_TMP = "/tmp";
export const SANDBOX_ROOT_HOME = "/root";
export const SANDBOX_RUN = "/run/lakitu";

export type SandboxDirs = { dir: string; home: string; workspace: string; tmp: string; root: string; run: string };

export function sandboxDirs(root: string, sandboxId: string): SandboxDirs {
  const dir = path.join(root, sandboxId);
  const sub = (name: string) => path.join(dir, name);
  return { dir, home: sub("home"), workspace: sub("workspace"), tmp: sub("tmp"), root: sub("root"), run: sub("run") };
}

/**
 * Creates a sandbox's directories (`dirs.dir` must not exist) with their owners and modes: home
 * (user, 0755), workspace (user:user 2775, so lakitu-agent, of group user, can write there), the
 * workspace mount point inside home (user, 0755), tmp (root, 1777), root (root, 0700) and run (root,
 * 0700: only root reaches the component bridge socket). Without own uids (`ids` undefined) only the modes.
 */
export async function createSandboxDirs(dirs: SandboxDirs, ids: HostIds | undefined): Promise<void> {
  await mkdir(dirs.dir, { mode: 0o711 });
  const layout: Array<[string, "root" | "user", number]> = [
    [dirs.home, "user", 0o755],
    [dirs.workspace, "user", 0o2775],
    [path.join(dirs.home, "workspace"), "user", 0o755],
    [dirs.tmp, "root", 0o1777],
    [dirs.root, "root", 0o700],
    [dirs.run, "root", 0o700],
  ];
  for (const [d, owner, mode] of layout) {
    await mkdir(d, { mode: 0o700 });
    if (ids) await chown(d, ids[owner], ids[owner]);
    await chmod(d, mode); // after chown, which clears the setgid bit; and not subject to the umask
  }
}

/**
 * Who a files request acts as: the host uid/gid of the sandbox user, and whether it is the sandbox's
 * root (which may read and write any of the sandbox's files). Undefined: no checks (single-uid sandbox).
 */
export type Actor = { uid: number; gid: number; privileged: boolean };

export class PermissionError extends Error {}

function check(st: { uid: number; gid: number; mode: number }, who: Actor | undefined, want: "r" | "w" | "x", what: string): void {
  if (who && !mayAccess(st, who, want, who.privileged)) throw new PermissionError(`permission denied: ${what}`);
}

/**
 * Normalizes a sandbox path: relative paths are relative to the user's home (`/home/user`, or `/root`
 * for root; as in envd); `..` cannot climb above `/`.
 */
export function normalizeSandboxPath(p: string, home = SANDBOX_HOME): string {
  const abs = p.startsWith("/") ? p : path.posix.join(home, p.startsWith("~/") ? p.slice(2) : p);
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
  rest = under(p, SANDBOX_ROOT_HOME);
  if (rest !== undefined) return { hostPath: path.join(dirs.root, rest), base: dirs.root };
  return undefined;
}

export class PathEscapeError extends Error {}

export class NotAFileError extends Error {}

/**
 * Opens a host file for reading without letting the sandbox redirect the host elsewhere: whatever
 * symlinks the sandbox planted along the path, the file actually opened must lie inside `base` (checked
 * on the open descriptor). Non-blocking, so a FIFO the sandbox planted cannot hang the host; only
 * regular files are served. With `who`, the file must be readable by that user and every directory on
 * its way from `base` searchable (the file's own bits are checked on the descriptor).
 */
export function openForRead(hostPath: string, base: string, who?: Actor): number {
  const fd = openSync(hostPath, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real !== base && !real.startsWith(base + "/")) throw new PathEscapeError("path resolves outside the sandbox");
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotAFileError("not a regular file");
    if (who) {
      for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
        check(statSync(dir), who, "x", "a directory on the path is not searchable by this user");
        if (dir === base || dir.length <= base.length) break;
      }
      check(st, who, "r", "the file is not readable by this user");
    }
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
 * With `who`, the write happens as that user would do it: every directory on the way must be searchable,
 * a directory or file to create needs a writable parent, an existing file must be writable, and what is
 * created belongs to that user (group: the parent's when it is setgid, as the kernel does). Not
 * truncated: the caller does that.
 */
export function openForWrite(hostPath: string, base: string, who?: Actor): number {
  const rel = path.relative(base, hostPath);
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) throw new PathEscapeError("path is outside the sandbox");
  const parts = rel.split(path.sep);
  const name = parts.pop()!;
  const dirFlags = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
  let dir = openSync(base, dirFlags);
  /** Creates `at` (in the directory open as `parentFd`) with `make` unless it exists; true when it made it. */
  const create = (parentFd: number, at: string, make: () => void): boolean => {
    try {
      lstatSync(at);
      return false;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    check(fstatSync(parentFd), who, "w", "the parent directory is not writable by this user");
    try {
      make();
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
  };
  /** Owner of something `who` created in the directory open as `parentFd`. */
  const ownerIn = (parentFd: number): [number, number] => {
    const parent = fstatSync(parentFd);
    return [who!.uid, parent.mode & 0o2000 ? parent.gid : who!.gid];
  };
  try {
    check(fstatSync(dir), who, "x", "the directory is not searchable by this user");
    for (const part of parts) {
      const at = `/proc/self/fd/${dir}/${part}`;
      if (create(dir, at, () => mkdirSync(at, 0o755)) && who) chownSync(at, ...ownerIn(dir));
      const next = openSync(at, dirFlags); // ELOOP for a symlink, ENOTDIR for a file
      closeSync(dir);
      dir = next;
      check(fstatSync(dir), who, "x", "a directory on the path is not searchable by this user");
    }
    const at = `/proc/self/fd/${dir}/${name}`;
    const flags = fsc.O_WRONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;
    let fd: number | undefined;
    const created = create(dir, at, () => (fd = openSync(at, flags | fsc.O_CREAT | fsc.O_EXCL, 0o644)));
    try {
      fd ??= openSync(at, flags);
      const st = fstatSync(fd);
      if (!st.isFile()) throw new NotAFileError("not a regular file");
      if (created && who) fchownSync(fd, ...ownerIn(dir));
      else check(st, who, "w", "the file is not writable by this user");
      return fd;
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      throw e;
    }
  } finally {
    closeSync(dir);
  }
}
