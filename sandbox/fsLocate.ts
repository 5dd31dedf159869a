/**
 * Finding a sandbox path on the host for the filesystem service (filesystem.ts, fsWatch.ts) without
 * ever letting the sandbox redirect the host.
 *
 * Symlinks are resolved in *sandbox* space: a link's target is a path as the sandbox sees it, mapped
 * again with `hostPathFor`, so `/home/user/l -> /tmp/x` lands in the sandbox's tmp directory and a
 * link to `/etc` lands nowhere (outside the served directories). The walk itself opens one directory at
 * a time with O_NOFOLLOW relative to the descriptor of the previous one (`/proc/self/fd/<fd>/<name>`
 * resolves against that descriptor, like `openat`), so a component the sandbox swaps for a symlink
 * mid-walk fails the walk instead of moving it. The result is the open parent directory and the name in
 * it: operations on `/proc/self/fd/<parent>/<name>` (lstat, unlink, rmdir, rename, mkdir) never follow
 * the last component either.
 *
 * With an actor (a sandbox with its own uids), every directory walked through must be searchable by
 * that user, as the kernel would require; root (privileged) passes.
 */
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, type Stats, constants as fsc } from "node:fs";
import path from "node:path";
import { ConnectRpcError, type ConnectCode } from "./connectRpc.js";
import {
  hostPathFor,
  normalizeSandboxPath,
  PermissionError,
  SANDBOX_HOME,
  SANDBOX_ROOT_HOME,
  type Actor,
  type SandboxDirs,
} from "./sandboxPaths.js";
import { hostIdOf, mayAccess, parseSandboxUser, type HostIds, type SandboxUser } from "./sandboxUsers.js";

/** Who calls, and on which sandbox. */
export type FsCaller = {
  user: SandboxUser;
  /** The user's home: base of relative paths. */
  home: string;
  /** Undefined: a single-uid sandbox, where users cannot be told apart (no checks). */
  actor: Actor | undefined;
  dirs: SandboxDirs;
  ids: HostIds | undefined;
};

export const SERVED = "the local sandbox host serves /home/user, /tmp and /root only";
const MAX_SYMLINKS = 40;
const MAX_PATH_LENGTH = 4096;
export const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

/** The caller of an RPC from its `user` option (`Authorization: Basic`); invalid_argument for other users. */
export function callerOf(name: string | undefined, dirs: SandboxDirs, ids: HostIds | undefined): FsCaller {
  const parsed = parseSandboxUser(name);
  if ("error" in parsed) throw new ConnectRpcError("invalid_argument", parsed.error);
  const hostIds = hostIdOf(ids, parsed.user);
  return {
    user: parsed.user,
    home: parsed.user === "root" ? SANDBOX_ROOT_HOME : SANDBOX_HOME,
    actor: hostIds && { ...hostIds, privileged: parsed.user === "root" },
    dirs,
    ids,
  };
}

/**
 * A request's path field, checked and made absolute: relative paths and `~/` are relative to the user's
 * home (as envd does); `..` cannot climb above `/`.
 */
export function sandboxPathOf(field: string, raw: unknown, home: string): string {
  if (raw === undefined || raw === null || raw === "")
    throw invalid(`${field} is required: give a path (absolute, or relative to ${home})`);
  if (typeof raw !== "string") throw invalid(`${field} must be a string path, not ${typeof raw}`);
  if (raw.includes("\0")) throw invalid(`${field} must not contain NUL characters`);
  if (raw.length > MAX_PATH_LENGTH) throw invalid(`${field} is ${raw.length} characters long; the maximum is ${MAX_PATH_LENGTH}`);
  if (raw.startsWith("~") && raw !== "~" && !raw.startsWith("~/")) {
    throw invalid(`${field} '${raw}': cannot expand another user's home directory (~name); use an absolute path`);
  }
  return normalizeSandboxPath(raw === "~" ? home : raw, home);
}

export function invalid(message: string): ConnectRpcError {
  return new ConnectRpcError("invalid_argument", message);
}

/** Where a sandbox path is: its open parent directory and its name there (`.` for a top directory). */
export type Located = {
  /** The sandbox path with every symlink on the way resolved (the last one too when followed). */
  path: string;
  /** Open descriptor of the directory holding it (of the directory itself for a top directory). */
  dirFd: number;
  name: string;
  /** One of the served top directories (/home/user, /home/user/workspace, /tmp, /root): never moved or removed. */
  top: boolean;
  /** Its lstat; undefined when it does not exist (its parent does). */
  st: Stats | undefined;
  /** The path given named a symlink that was followed to get here. */
  viaLink: boolean;
};

/** The host path of a located entry, relative to its open parent: never follows the last component. */
export function at(loc: { dirFd: number; name: string }): string {
  return `/proc/self/fd/${loc.dirFd}/${loc.name}`;
}

export class OutsideError extends ConnectRpcError {
  constructor(
    code: ConnectCode,
    readonly resolved: string,
    given: string,
  ) {
    super(
      code,
      resolved === given
        ? `path '${given}' is outside the served directories: ${SERVED}`
        : `path '${given}' resolves to '${resolved}', outside the served directories: ${SERVED}`,
    );
  }
}

/** Ancestors of the top directories (`/`, `/home`): passed through, never served. */
function isAncestorOfTop(p: string): boolean {
  return p === "/" || p === "/home";
}

function checkAccess(st: Stats, who: Actor | undefined, want: "r" | "w" | "x", what: string): void {
  if (who && !mayAccess(st, who, want, who.privileged)) throw new PermissionError(`permission denied: ${what}`);
}

/**
 * Locates `sandboxPath` (absolute, normalized). `followLast`: resolve the last component too when it is
 * a symlink (stat of a link reports the link; list and watch follow it). `outsideCode`: the error when
 * the path resolves outside the served directories (not_found for reads, invalid_argument for changes).
 * A missing last component is reported with `st` undefined; a missing parent is not_found. The caller
 * must `release()` the result.
 */
export function locate(c: FsCaller, sandboxPath: string, followLast: boolean, outsideCode: ConnectCode = "not_found"): Located {
  let pending = sandboxPath.split("/").filter(Boolean);
  let cur = "/";
  let fd: number | undefined;
  let links = 0;
  let viaLink = false;
  const restart = (absolute: string) => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    cur = "/";
    return absolute.split("/").filter(Boolean);
  };
  try {
    if (pending.length === 0) throw new OutsideError(outsideCode, "/", sandboxPath);
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === ".") continue;
      if (name === "..") {
        pending = [...restart(path.posix.dirname(cur)), ...pending];
        if (pending.length === 0) throw new OutsideError(outsideCode, "/", sandboxPath);
        continue;
      }
      const next = path.posix.join(cur, name);
      const last = pending.length === 0;
      const mapped = hostPathFor(c.dirs, next);
      if (!mapped) {
        if (isAncestorOfTop(next) && !last) {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
          cur = next;
          continue;
        }
        throw new OutsideError(outsideCode, path.posix.join(next, ...pending), sandboxPath);
      }
      if (mapped.hostPath === mapped.base) {
        // A top directory: opened afresh from the host's own path (its parents are the host's).
        const topFd = openSync(mapped.base, DIR_FLAGS);
        if (fd !== undefined) closeSync(fd);
        fd = topFd;
        cur = next;
        if (last) {
          const result: Located = { path: next, dirFd: topFd, name: ".", top: true, st: fstatSync(topFd), viaLink };
          fd = undefined;
          return result;
        }
        checkAccess(fstatSync(topFd), c.actor, "x", `'${next}' is not searchable by ${c.user}`);
        continue;
      }
      if (fd === undefined) throw new Error(`internal: no open directory for '${cur}'`);
      const entry = `/proc/self/fd/${fd}/${name}`;
      let st: Stats | undefined;
      try {
        st = lstatSync(entry);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      if (!st) {
        if (!last) throw new ConnectRpcError("not_found", `path '${sandboxPath}' does not exist ('${next}' is missing)`);
        const result: Located = { path: next, dirFd: fd, name, top: false, st: undefined, viaLink };
        fd = undefined;
        return result;
      }
      if (st.isSymbolicLink() && (!last || followLast)) {
        if (++links > MAX_SYMLINKS) {
          throw new ConnectRpcError(
            "failed_precondition",
            `cyclic symlink or a chain of more than ${MAX_SYMLINKS} links at '${sandboxPath}'`,
          );
        }
        if (last) viaLink = true;
        const target = readlinkSync(entry);
        pending = target.startsWith("/") ? [...restart(target), ...pending] : [...target.split("/").filter(Boolean), ...pending];
        if (pending.length === 0) pending = restart(cur); // a link to "/" or "."
        continue;
      }
      if (last) {
        const result: Located = { path: next, dirFd: fd, name, top: false, st, viaLink };
        fd = undefined;
        return result;
      }
      if (!st.isDirectory()) throw invalid(`a parent of '${sandboxPath}' is not a directory ('${next}')`);
      const child = openSync(entry, DIR_FLAGS); // ELOOP/ENOTDIR when swapped since the lstat
      closeSync(fd);
      fd = child;
      cur = next;
      checkAccess(fstatSync(child), c.actor, "x", `'${next}' is not searchable by ${c.user}`);
    }
    // Only "." components after a top directory or a link to a directory: locate that directory itself.
    const resolved = cur;
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    return locate(c, resolved, false, outsideCode);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function release(loc: { dirFd: number } | undefined): void {
  if (loc) closeSync(loc.dirFd);
}

/** Runs `fn` with `locate(...)`, releasing it afterwards. */
export function withLocated<T>(
  c: FsCaller,
  sandboxPath: string,
  followLast: boolean,
  outsideCode: ConnectCode,
  fn: (loc: Located) => T,
): T {
  const loc = locate(c, sandboxPath, followLast, outsideCode);
  try {
    return fn(loc);
  } finally {
    release(loc);
  }
}

/** Throws permission_denied unless the caller may `want` the inode `st`. */
export function mustAccess(c: FsCaller, st: Stats, want: "r" | "w" | "x", what: string): void {
  checkAccess(st, c.actor, want, what);
}

/**
 * May the caller remove (or rename away) `st` from the directory `parent`: write and search on the
 * parent and, in a sticky directory (/tmp), own the entry or the directory — as the kernel requires.
 */
export function mustRemoveFrom(c: FsCaller, parent: Stats, st: Stats, what: string): void {
  const who = c.actor;
  if (!who || who.privileged) return;
  checkAccess(parent, who, "w", `the directory holding ${what} is not writable by ${c.user}`);
  checkAccess(parent, who, "x", `the directory holding ${what} is not searchable by ${c.user}`);
  if (parent.mode & 0o1000 /* sticky */ && st.uid !== who.uid && parent.uid !== who.uid) {
    throw new PermissionError(`permission denied: ${what} belongs to another user in a sticky directory`);
  }
}

/** An errno (or our own error) as the Connect error the SDK maps: not_found, permission_denied, ... */
export function rpcErrorOf(e: unknown, sandboxPath: string): ConnectRpcError {
  if (e instanceof ConnectRpcError) return e;
  if (e instanceof PermissionError) return new ConnectRpcError("permission_denied", `path '${sandboxPath}': ${e.message}`);
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT":
      return new ConnectRpcError("not_found", `path '${sandboxPath}' does not exist`);
    case "EACCES":
    case "EPERM":
      return new ConnectRpcError("permission_denied", `path '${sandboxPath}': permission denied`);
    case "ELOOP":
      return new ConnectRpcError("failed_precondition", `path '${sandboxPath}' changed into a symlink while the host walked it; try again`);
    case "ENOTDIR":
      return invalid(`a component of '${sandboxPath}' is not a directory`);
    case "EISDIR":
      return invalid(`path '${sandboxPath}' is a directory`);
    case "EEXIST":
      return new ConnectRpcError("already_exists", `path '${sandboxPath}' already exists`);
    case "ENOTEMPTY":
      return new ConnectRpcError("failed_precondition", `directory '${sandboxPath}' is not empty`);
    case "EXDEV":
      return new ConnectRpcError(
        "failed_precondition",
        `'${sandboxPath}' is on another filesystem of the host; copy it with commands.run instead`,
      );
    case "EINVAL":
      return invalid(`invalid operation on '${sandboxPath}' (e.g. moving a directory into itself)`);
    case "EBUSY":
      return new ConnectRpcError("failed_precondition", `path '${sandboxPath}' is busy (a mount point)`);
    case "ENOSPC":
    case "EDQUOT":
      return new ConnectRpcError("resource_exhausted", `no space left for '${sandboxPath}'`);
    default:
      return new ConnectRpcError("internal", `path '${sandboxPath}': ${err?.message ?? String(e)}`);
  }
}
