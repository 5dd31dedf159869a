/**
 * envd's `filesystem.Filesystem` Connect service (filesystem.proto), what the SDK's `files.exists`,
 * `getInfo` (Stat), `list` (ListDir), `makeDir`, `remove`, `rename` (Move) and `watchDir` (WatchDir,
 * server streaming; fsWatch.ts) call. Unary calls are plain JSON, the stream JSON envelopes
 * (connectRpc.ts), as the SDK sends them.
 *
 * Behaviour as envd's: relative paths resolve under the user's home (`/home/user`, `/root` for root);
 * Stat describes the entry itself (a symlink: its target's type, `symlinkTarget` resolved); ListDir
 * follows a symlink given as the path, walks `depth` levels (default 1) without following links, in
 * name order, and reports paths under the requested path; MakeDir creates missing parents and answers
 * already_exists for a directory (the SDK then returns false); Remove removes a whole tree and succeeds
 * when nothing is there; Move replaces an existing destination and creates its missing parents.
 * Errors: not_found (SDK `FileNotFoundError`, a `NotFoundError`), invalid_argument
 * (`InvalidArgumentError`), permission_denied, already_exists, failed_precondition.
 *
 * Local differences: only /home/user (with the workspace), /tmp and /root are served (fsLocate.ts):
 * reads elsewhere answer not_found, changes invalid_argument, and a symlink is followed only within
 * them. The top directories themselves cannot be removed or moved. The `user` option is honoured as by
 * the files API: `user` may only read, list, create, remove and move what its permissions allow
 * (permission_denied otherwise), and what it creates belongs to it.
 */
import {
  closeSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  type Stats,
} from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { ConnectRpcError, parseEnvelopedRequest, parseJson, sendRpcFailure, sendUnary } from "./connectRpc.js";
import { entryInfo, type EntryInfoJson } from "./fsEntry.js";
import {
  at,
  callerOf,
  DIR_FLAGS,
  invalid,
  locate,
  mustAccess,
  mustRemoveFrom,
  release,
  rpcErrorOf,
  sandboxPathOf,
  withLocated,
  type FsCaller,
} from "./fsLocate.js";
import { watchDir } from "./fsWatch.js";
import { readBody } from "./httpUtil.js";
import type { Sandbox } from "./sandboxes.js";
import { hostPathFor } from "./sandboxPaths.js";

export const FILESYSTEM_SERVICE = "/filesystem.Filesystem/";
const RPC_BODY_LIMIT = 1 << 20;
/** Deepest `list` (envd has no limit; a bound keeps one call's work and open descriptors bounded). */
export const MAX_LIST_DEPTH = 100;
/** Most entries one `list` returns; more is resource_exhausted (list a subdirectory or less deep). */
export const MAX_LIST_ENTRIES = 100_000;
/** Deepest tree `remove` walks (one open descriptor per level). */
const MAX_REMOVE_DEPTH = 256;
const YIELD_EVERY = 256;

/**
 * Serves `POST /filesystem.Filesystem/<method>`. `rpcUser` reads the call's `user` option (it throws
 * invalid_argument for a malformed Authorization header).
 */
export async function handleFilesystem(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  sandbox: Sandbox,
  rpcUser: () => string | undefined,
): Promise<void> {
  const streaming = method === "WatchDir";
  try {
    const body = await readBody(req, RPC_BODY_LIMIT);
    const caller = callerOf(rpcUser(), sandbox.dirs, sandbox.ids);
    if (sandbox.killed) throw new ConnectRpcError("unavailable", `sandbox ${sandbox.id} is being killed`);
    switch (method) {
      case "Stat":
        return sendUnary(res, stat(caller, message(parseJson(body))));
      case "ListDir":
        return sendUnary(res, await listDir(caller, message(parseJson(body))));
      case "MakeDir":
        return sendUnary(res, makeDir(caller, message(parseJson(body))));
      case "Remove":
        return sendUnary(res, await remove(caller, message(parseJson(body))));
      case "Move":
        return sendUnary(res, move(caller, message(parseJson(body))));
      case "WatchDir":
        return watchDir(req, res, message(parseEnvelopedRequest(body)), sandbox, caller);
      default:
        throw new ConnectRpcError(
          "unimplemented",
          `filesystem.Filesystem/${method} is not implemented by the local sandbox host (Stat, ListDir, MakeDir, Remove, Move and WatchDir are)`,
        );
    }
  } catch (e) {
    return sendRpcFailure(res, e, streaming);
  }
}

type Message = Record<string, unknown>;

function message(value: unknown): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("the request must be a JSON object");
  return value as Message;
}

/** Runs `fn`, turning errno and permission errors into Connect errors naming `sandboxPath`. */
function onPath<T>(sandboxPath: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw rpcErrorOf(e, sandboxPath);
  }
}

/** `onPath` for async work. */
async function onPathAsync<T>(sandboxPath: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw rpcErrorOf(e, sandboxPath);
  }
}

/**
 * Lets the event loop run every YIELD_EVERY entries of a long walk (list, remove), so one big tree does
 * not stall the host's other sandboxes; the walk holds descriptors, so what it walks cannot move.
 */
class Yielder {
  private n = 0;
  async tick(): Promise<void> {
    if (++this.n % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function notFound(sandboxPath: string): ConnectRpcError {
  return new ConnectRpcError("not_found", `path '${sandboxPath}' does not exist`);
}

// ---------------------------------------------------------------------------------------------
// Stat, ListDir

function stat(c: FsCaller, msg: Message): { entry: EntryInfoJson } {
  const p = sandboxPathOf("path", msg.path, c.home);
  return onPath(p, () =>
    withLocated(c, p, false, "not_found", (loc) => {
      if (!loc.st) throw notFound(p);
      return { entry: entryInfo(c, loc, p, loc.path, path.posix.basename(p)) };
    }),
  );
}

/** ListDir's `depth`: absent or 0 means 1 (as envd); else an integer 1…MAX_LIST_DEPTH. */
export function listDepthOf(raw: unknown): number {
  if (raw === undefined || raw === null || raw === 0) return 1;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 1 || raw > MAX_LIST_DEPTH) {
    throw invalid(`depth must be a positive integer of at most ${MAX_LIST_DEPTH}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

async function listDir(c: FsCaller, msg: Message): Promise<{ entries: EntryInfoJson[] }> {
  const p = sandboxPathOf("path", msg.path, c.home);
  const depth = listDepthOf(msg.depth);
  return onPathAsync(p, async () => {
    const { fd, resolved } = withLocated(c, p, true, "not_found", (loc) => {
      if (!loc.st) throw notFound(p);
      if (!loc.st.isDirectory()) throw invalid(`path '${p}' is not a directory`);
      mustAccess(c, loc.st, "r", `directory '${p}' is not readable by ${c.user}`);
      mustAccess(c, loc.st, "x", `directory '${p}' is not searchable by ${c.user}`);
      return { fd: openSync(at(loc), DIR_FLAGS), resolved: loc.path };
    });
    const entries: EntryInfoJson[] = [];
    try {
      await walk(c, fd, p, resolved, 1, depth, entries, new Yielder());
    } finally {
      closeSync(fd);
    }
    return { entries };
  });
}

/** Pre-order, names sorted in each directory (Go's WalkDir); symlinks are listed, never descended. */
async function walk(
  c: FsCaller,
  dirFd: number,
  reported: string,
  resolved: string,
  level: number,
  depth: number,
  out: EntryInfoJson[],
  yielder: Yielder,
): Promise<void> {
  const names = readdirSync(`/proc/self/fd/${dirFd}`).sort();
  for (const name of names) {
    await yielder.tick();
    if (out.length >= MAX_LIST_ENTRIES) {
      throw new ConnectRpcError(
        "resource_exhausted",
        `'${reported}' holds more than ${MAX_LIST_ENTRIES} entries at depth ${depth}: list a subdirectory or with a smaller depth`,
      );
    }
    const childReported = path.posix.join(reported, name);
    const childResolved = path.posix.join(resolved, name);
    // The workspace mount point inside home: the sandbox sees the workspace directory there.
    const mapped = hostPathFor(c.dirs, childResolved);
    const top = mapped !== undefined && mapped.hostPath === mapped.base;
    let childFd: number | undefined;
    try {
      childFd = top ? openSync(mapped.base, DIR_FLAGS) : undefined;
      out.push(entryInfo(c, top ? { dirFd: childFd!, name: "." } : { dirFd, name }, childReported, childResolved, name));
      if (level >= depth) continue;
      childFd ??= openSync(`/proc/self/fd/${dirFd}/${name}`, DIR_FLAGS); // ELOOP (link) / ENOTDIR: not descended
      const st = fstatSync(childFd);
      if (!mayList(c, st)) continue;
      await walk(c, childFd, childReported, childResolved, level + 1, depth, out, yielder);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ELOOP" && code !== "ENOTDIR") throw e; // vanished, or not a directory
    } finally {
      if (childFd !== undefined) closeSync(childFd);
    }
  }
}

function mayList(c: FsCaller, st: Stats): boolean {
  try {
    mustAccess(c, st, "r", "");
    mustAccess(c, st, "x", "");
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// MakeDir, Remove, Move

function makeDir(c: FsCaller, msg: Message): { entry: Pick<EntryInfoJson, "name" | "type" | "path"> } {
  const p = sandboxPathOf("path", msg.path, c.home);
  onPath(p, () => {
    if (!makeDirs(c, p)) throw new ConnectRpcError("already_exists", `directory '${p}' already exists`);
  });
  return { entry: { name: path.posix.basename(p), type: "FILE_TYPE_DIRECTORY", path: p } };
}

/**
 * Creates `p` and its missing parents (mode 0755, owned by the caller; the group of a setgid parent, as
 * the kernel gives it). False when `p` already is a directory (or a link to one).
 */
function makeDirs(c: FsCaller, p: string): boolean {
  const parts = p.split("/").filter(Boolean);
  let created = false;
  for (let i = 1; i <= parts.length; i++) {
    const prefix = `/${parts.slice(0, i).join("/")}`;
    const last = i === parts.length;
    if (!last && prefix === "/home") continue; // above the top directories
    withLocated(c, prefix, true, "invalid_argument", (loc) => {
      if (loc.st) {
        if (loc.st.isDirectory()) return;
        throw invalid(
          last ? `path already exists but it is not a directory: '${p}'` : `a parent of '${p}' is not a directory: '${prefix}'`,
        );
      }
      if (loc.viaLink) throw new ConnectRpcError("failed_precondition", `'${prefix}' is a symlink to '${loc.path}', which does not exist`);
      const parent = fstatSync(loc.dirFd);
      mustAccess(c, parent, "w", `the parent of '${prefix}' is not writable by ${c.user}`);
      mkdirSync(at(loc), 0o755);
      created = true;
      if (c.actor) {
        const fd = openSync(at(loc), DIR_FLAGS); // not chown by path: the sandbox could swap it for a link
        try {
          fchownSync(fd, c.actor.uid, parent.mode & 0o2000 ? parent.gid : c.actor.gid);
        } finally {
          closeSync(fd);
        }
      }
    });
  }
  return created;
}

async function remove(c: FsCaller, msg: Message): Promise<Record<string, never>> {
  const p = sandboxPathOf("path", msg.path, c.home);
  await onPathAsync(p, async () => {
    let loc;
    try {
      loc = locate(c, p, false, "invalid_argument");
    } catch (e) {
      if (e instanceof ConnectRpcError && e.code === "not_found") return; // a missing parent: nothing to remove
      throw e;
    }
    try {
      if (loc.top) throw invalid(`'${p}' is a top directory of the sandbox and cannot be removed`);
      if (!loc.st) return; // as envd (RemoveAll): nothing there is not an error
      mustRemoveFrom(c, fstatSync(loc.dirFd), loc.st, `'${p}'`);
      await removeEntry(c, loc.dirFd, loc.name, p, 0, new Yielder());
    } finally {
      release(loc);
    }
  });
  return {};
}

/** Removes the entry `name` of the open directory `dirFd`, a directory with everything in it; never follows a link. */
async function removeEntry(c: FsCaller, dirFd: number, name: string, display: string, level: number, yielder: Yielder): Promise<void> {
  await yielder.tick();
  const entry = `/proc/self/fd/${dirFd}/${name}`;
  let fd: number;
  try {
    fd = openSync(entry, DIR_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code !== "ELOOP" && code !== "ENOTDIR") throw e;
    unlinkSync(entry); // a file, link, FIFO, socket...
    return;
  }
  try {
    if (level >= MAX_REMOVE_DEPTH) {
      throw new ConnectRpcError(
        "failed_precondition",
        `'${display}' is nested deeper than ${MAX_REMOVE_DEPTH} levels; remove it with commands.run`,
      );
    }
    const st = fstatSync(fd);
    mustAccess(c, st, "r", `directory '${display}' is not readable by ${c.user}`);
    for (const child of readdirSync(`/proc/self/fd/${fd}`)) {
      const childPath = path.posix.join(display, child);
      if (c.actor && !c.actor.privileged) {
        try {
          mustRemoveFrom(c, st, lstatSync(`/proc/self/fd/${fd}/${child}`), `'${childPath}'`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw e;
        }
      }
      await removeEntry(c, fd, child, childPath, level + 1, yielder);
    }
  } finally {
    closeSync(fd);
  }
  rmdirSync(entry);
}

function move(c: FsCaller, msg: Message): { entry: EntryInfoJson } {
  const src = sandboxPathOf("source", msg.source, c.home);
  const dst = sandboxPathOf("destination", msg.destination, c.home);
  const s = onPath(src, () => locate(c, src, false, "invalid_argument"));
  try {
    if (s.top) throw invalid(`source '${src}' is a top directory of the sandbox and cannot be moved`);
    if (!s.st) throw new ConnectRpcError("not_found", `source '${src}' does not exist`);
    onPath(src, () => mustRemoveFrom(c, fstatSync(s.dirFd), s.st!, `'${src}'`));
    const parent = path.posix.dirname(dst);
    if (parent !== "/") onPath(parent, () => makeDirs(c, parent));
    return onPath(dst, () =>
      withLocated(c, dst, false, "invalid_argument", (d) => {
        if (d.top) throw invalid(`destination '${dst}' is a top directory of the sandbox and cannot be replaced`);
        const dstParent = fstatSync(d.dirFd);
        mustAccess(c, dstParent, "w", `the directory of '${dst}' is not writable by ${c.user}`);
        if (d.st) mustRemoveFrom(c, dstParent, d.st, `'${dst}'`);
        const srcParent = fstatSync(s.dirFd);
        if (s.st!.isDirectory() && (srcParent.ino !== dstParent.ino || srcParent.dev !== dstParent.dev)) {
          mustAccess(c, s.st!, "w", `directory '${src}' is not writable by ${c.user} (moving it updates its '..')`);
        }
        renameSync(at(s), at(d));
        return { entry: entryInfo(c, d, dst, d.path, path.posix.basename(dst)) };
      }),
    );
  } finally {
    release(s);
  }
}
