/**
 * envd's `WatchDir` (server streaming): a start event, then one `filesystem` event per change in the
 * directory (`recursive`: in its whole tree, names relative to it, e.g. `sub/file.txt`), keepalives
 * when the SDK asks for them, until the client stops, the call's deadline (`timeoutMs`, SDK default
 * 60 s: deadline_exceeded) or the sandbox is killed (unavailable; the SDK's `onExit` gets a
 * `TimeoutError`, as when an E2B sandbox goes away).
 *
 * Built on Node's `fs.watch` (inotify), one per directory, each added through a descriptor the
 * symlink-safe walk opened (`/proc/self/fd/<fd>/.`): the watch is on the sandbox's directory even if
 * the sandbox swaps a path component, links are never followed into a watched tree, and the sandbox's
 * workspace is watched where the sandbox sees it (`/home/user/workspace`), not the mount point.
 *
 * inotify tells create/remove/move apart but Node reports them all as `rename`, and write/chmod both
 * as `change`. The type is recovered from the entry's state: appeared → create; gone → remove, or
 * rename when the same inode appeared under another name in the same batch (envd: rename for the old
 * name, create for the new); changed mode/owner → chmod, else write. Changes faster than the host
 * reads them can be merged (a chmod reported as write, a rename out of the tree as remove).
 *
 * Bounds: MAX_WATCHERS_PER_SANDBOX streams per sandbox, MAX_WATCHED_DIRS directories per stream
 * (resource_exhausted beyond), MAX_QUEUED_BYTES of events a client has not read.
 */
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, watch, type FSWatcher, type Stats } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { ConnectRpcError, endStream, envelope, requestTimeoutMs, STREAM_CONTENT_TYPE, type ConnectCode } from "./connectRpc.js";
import { at, DIR_FLAGS, invalid, locate, mustAccess, release, rpcErrorOf, sandboxPathOf, type FsCaller } from "./fsLocate.js";
import { header } from "./httpUtil.js";
import type { Sandbox } from "./sandboxes.js";
import { hostPathFor } from "./sandboxPaths.js";

export const MAX_WATCHERS_PER_SANDBOX = 16;
export const MAX_WATCHED_DIRS = 1_000;
const MAX_QUEUED_BYTES = 1 << 20;
/** Entries remembered (to tell chmod from write, a rename from a remove) per stream. */
const MAX_SNAPSHOT_ENTRIES = 100_000;
const KILL_CHECK_MS = 250;

type EventType = "EVENT_TYPE_CREATE" | "EVENT_TYPE_WRITE" | "EVENT_TYPE_REMOVE" | "EVENT_TYPE_RENAME" | "EVENT_TYPE_CHMOD";
type Snap = { ino: number; mode: number; uid: number; gid: number; size: number; mtimeMs: number; ctimeMs: number; dir: boolean };
type WatchedDir = { sandboxPath: string; rel: string; handle: FSWatcher; entries: Map<string, Snap> };
type Raw = { dir: WatchedDir; kind: "rename" | "change"; name: string };

const active = new WeakMap<Sandbox, Set<DirWatch>>();

function snapOf(st: Stats): Snap {
  return {
    ino: st.ino,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    dir: st.isDirectory(),
  };
}

/** Serves a WatchDir call (the request already parsed). */
export function watchDir(req: IncomingMessage, res: ServerResponse, msg: Record<string, unknown>, sandbox: Sandbox, c: FsCaller): void {
  const p = sandboxPathOf("path", msg.path, c.home);
  if (msg.recursive !== undefined && typeof msg.recursive !== "boolean") throw invalid("recursive must be a boolean");
  const running = active.get(sandbox) ?? new Set<DirWatch>();
  if (running.size >= MAX_WATCHERS_PER_SANDBOX) {
    throw new ConnectRpcError(
      "resource_exhausted",
      `the sandbox already has ${running.size} directory watchers (limit ${MAX_WATCHERS_PER_SANDBOX}); stop one first`,
    );
  }
  const w = new DirWatch(res, sandbox, c, p, msg.recursive === true);
  try {
    w.start();
  } catch (e) {
    w.close();
    throw rpcErrorOf(e, p);
  }
  running.add(w);
  active.set(sandbox, running);
  w.onClose = () => running.delete(w);
  res.writeHead(200, { "content-type": STREAM_CONTENT_TYPE });
  res.write(envelope({ start: {} }));
  const keepalive = Number(header(req, "keepalive-ping-interval"));
  if (Number.isFinite(keepalive) && keepalive >= 1) w.every(Math.min(keepalive, 3600) * 1000, () => w.send({ keepalive: {} }));
  const deadline = requestTimeoutMs(req.headers["connect-timeout-ms"]);
  if (deadline !== undefined) w.after(deadline, () => w.end("deadline_exceeded", `the watch reached its ${deadline} ms timeout`));
  w.every(KILL_CHECK_MS, () => w.checkKilled());
  res.on("close", () => w.close());
}

class DirWatch {
  private readonly dirs = new Map<string, WatchedDir>();
  private readonly timers: NodeJS.Timeout[] = [];
  private queue: Raw[] = [];
  private flushScheduled = false;
  /** Names seen appearing and gone again before the host looked (the next event for them is their removal). */
  private readonly ghosts = new Set<string>();
  private snapshotEntries = 0;
  private closed = false;
  onClose: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly sandbox: Sandbox,
    private readonly c: FsCaller,
    private readonly root: string,
    private readonly recursive: boolean,
  ) {}

  /** Watches the directory (and, recursive, every directory under it); throws when it cannot. */
  start(): void {
    const loc = locate(this.c, this.root, true, "not_found");
    try {
      if (!loc.st) throw new ConnectRpcError("not_found", `path '${this.root}' does not exist`);
      if (!loc.st.isDirectory()) throw invalid(`path '${this.root}' is not a directory`);
      mustAccess(this.c, loc.st, "r", `directory '${this.root}' is not readable by ${this.c.user}`);
      mustAccess(this.c, loc.st, "x", `directory '${this.root}' is not searchable by ${this.c.user}`);
      this.addTree(openSync(at(loc), DIR_FLAGS), loc.path, "");
    } finally {
      release(loc);
    }
  }

  every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  after(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  send(message: unknown): void {
    if (this.closed || this.res.destroyed) return;
    if (this.res.writableLength > MAX_QUEUED_BYTES) {
      this.end("resource_exhausted", `the client did not read ${MAX_QUEUED_BYTES} bytes of events; the watch was stopped`);
      return;
    }
    this.res.write(envelope(message));
  }

  end(code: ConnectCode, message: string): void {
    if (this.closed) return;
    if (!this.res.destroyed) this.res.end(endStream({ code, message }));
    this.close();
  }

  checkKilled(): boolean {
    if (!this.sandbox.killed) return false;
    this.end("unavailable", `sandbox ${this.sandbox.id} was killed`);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const d of this.dirs.values()) d.handle.close();
    this.dirs.clear();
    this.onClose?.();
  }

  /**
   * Watches the directory open as `fd` (closed here) and, recursive, its subdirectories (breadth
   * first, each opened without following links, by the sandbox path it has).
   */
  private addTree(fd: number, sandboxPath: string, rel: string): void {
    const pending: Array<{ fd: number; sandboxPath: string; rel: string }> = [{ fd, sandboxPath, rel }];
    try {
      while (pending.length > 0) {
        const next = pending.shift()!;
        try {
          const subdirs = this.addDir(next.fd, next.sandboxPath, next.rel);
          for (const name of subdirs) {
            const child = this.openChild(next.fd, path.posix.join(next.sandboxPath, name));
            if (child !== undefined)
              pending.push({
                fd: child,
                sandboxPath: path.posix.join(next.sandboxPath, name),
                rel: next.rel ? `${next.rel}/${name}` : name,
              });
          }
        } finally {
          closeSync(next.fd);
        }
      }
    } finally {
      for (const rest of pending) closeSync(rest.fd);
    }
  }

  /** A subdirectory of the open directory `parentFd`, opened (undefined: a link, gone, or not listable by the caller). */
  private openChild(parentFd: number, sandboxPath: string): number | undefined {
    const mapped = hostPathFor(this.c.dirs, sandboxPath);
    if (!mapped) return undefined;
    let fd: number;
    try {
      // The workspace mount point inside home: watch the workspace itself.
      fd = openSync(
        mapped.hostPath === mapped.base ? mapped.base : `/proc/self/fd/${parentFd}/${path.posix.basename(sandboxPath)}`,
        DIR_FLAGS,
      );
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      mustAccess(this.c, st, "r", "");
      mustAccess(this.c, st, "x", "");
      return fd;
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  /** Watches one directory and remembers its entries; returns the names of its subdirectories. */
  private addDir(fd: number, sandboxPath: string, rel: string): string[] {
    if (this.dirs.has(rel)) return [];
    if (this.dirs.size >= MAX_WATCHED_DIRS) {
      throw new ConnectRpcError(
        "resource_exhausted",
        `'${this.root}' has more than ${MAX_WATCHED_DIRS} directories to watch; watch a subdirectory or without recursive`,
      );
    }
    const dir: WatchedDir = { sandboxPath, rel, handle: undefined as unknown as FSWatcher, entries: new Map() };
    try {
      dir.handle = watch(`/proc/self/fd/${fd}/.`, { persistent: false }, (kind, name) => this.onRaw(dir, kind, name));
    } catch (e) {
      // ENOSPC: the host's inotify watches (fs.inotify.max_user_watches) are used up.
      throw new ConnectRpcError(
        "resource_exhausted",
        `the host cannot watch '${sandboxPath}': ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    dir.handle.on("error", (e) => this.end("internal", `watching '${sandboxPath}' failed: ${e.message}`));
    this.dirs.set(rel, dir);
    const subdirs: string[] = [];
    for (const name of readdirSync(`/proc/self/fd/${fd}`)) {
      let st: Stats;
      try {
        st = lstatSync(`/proc/self/fd/${fd}/${name}`);
      } catch {
        continue;
      }
      this.remember(dir, name, st);
      if (this.recursive && st.isDirectory()) subdirs.push(name);
    }
    return subdirs;
  }

  private remember(dir: WatchedDir, name: string, st: Stats): void {
    if (!dir.entries.has(name)) {
      if (this.snapshotEntries >= MAX_SNAPSHOT_ENTRIES) return;
      this.snapshotEntries++;
    }
    dir.entries.set(name, snapOf(st));
  }

  private forget(dir: WatchedDir, name: string): void {
    if (dir.entries.delete(name)) this.snapshotEntries--;
  }

  private onRaw(dir: WatchedDir, kind: string, name: string | Buffer | null): void {
    if (this.closed || name === null) return;
    const entry = String(name);
    if (entry === ".") {
      // The directory itself changed, moved or went away (its parent reports it); a removal may be the kill.
      if (!this.checkKilled() && kind === "rename" && dir.rel !== "") this.dropTree(dir.rel);
      return;
    }
    this.queue.push({ dir, kind: kind === "change" ? "change" : "rename", name: entry });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Stops watching `rel` and everything under it. */
  private dropTree(rel: string): void {
    for (const [key, d] of this.dirs) {
      if (key === rel || key.startsWith(`${rel}/`)) {
        d.handle.close();
        for (const name of [...d.entries.keys()]) this.forget(d, name);
        this.dirs.delete(key);
      }
    }
  }

  /** The current lstat of `name` in a watched directory (undefined: gone), walked safely by its sandbox path. */
  private current(dir: WatchedDir, name: string): Stats | undefined {
    try {
      const loc = locate(this.c, path.posix.join(dir.sandboxPath, name), false);
      release(loc);
      return loc.st;
    } catch {
      return undefined;
    }
  }

  /** Classifies one batch of raw events (see the module comment) and sends them in order. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (this.closed || this.checkKilled()) return;
    const out: Array<{ name: string; type: EventType | "gone"; ino?: number }> = [];
    const created = new Set<number>();
    for (const raw of batch) {
      if (this.dirs.get(raw.dir.rel) !== raw.dir) continue; // dropped (or replaced) meanwhile
      const name = raw.dir.rel ? `${raw.dir.rel}/${raw.name}` : raw.name;
      const before = raw.dir.entries.get(raw.name);
      const st = this.current(raw.dir, raw.name);
      if (raw.kind === "change") {
        if (st) this.remember(raw.dir, raw.name, st);
        const chmod = before && st && (before.mode !== st.mode || before.uid !== st.uid || before.gid !== st.gid);
        const attrOnly = before && st && before.mtimeMs === st.mtimeMs && before.size === st.size && before.ctimeMs !== st.ctimeMs;
        out.push({ name, type: chmod || attrOnly ? "EVENT_TYPE_CHMOD" : "EVENT_TYPE_WRITE" });
        continue;
      }
      if (st && (!before || before.ino !== st.ino)) {
        if (before) out.push({ name, type: "gone", ino: before.ino });
        this.remember(raw.dir, raw.name, st);
        created.add(st.ino);
        out.push({ name, type: "EVENT_TYPE_CREATE" });
        if (this.recursive && st.isDirectory()) this.watchNew(raw.dir, raw.name, name);
      } else if (!st && before) {
        this.forget(raw.dir, raw.name);
        if (before.dir) this.dropTree(name);
        out.push({ name, type: "gone", ino: before.ino });
      } else if (!st) {
        if (this.ghosts.delete(name)) out.push({ name, type: "gone" });
        else {
          if (this.ghosts.size >= MAX_SNAPSHOT_ENTRIES) this.ghosts.clear();
          this.ghosts.add(name);
          out.push({ name, type: "EVENT_TYPE_CREATE" });
        }
      }
    }
    for (const e of out) {
      const type = e.type !== "gone" ? e.type : e.ino !== undefined && created.has(e.ino) ? "EVENT_TYPE_RENAME" : "EVENT_TYPE_REMOVE";
      this.send({ filesystem: { name: e.name, type } });
    }
  }

  /** A directory created in a recursive watch: watch it (and what is already in it). */
  private watchNew(parent: WatchedDir, name: string, rel: string): void {
    const sandboxPath = path.posix.join(parent.sandboxPath, name);
    let fd: number | undefined;
    try {
      const loc = locate(this.c, sandboxPath, false);
      try {
        if (!loc.st?.isDirectory()) return;
        fd = openSync(at(loc), DIR_FLAGS);
      } finally {
        release(loc);
      }
      const st = fstatSync(fd);
      mustAccess(this.c, st, "r", "");
      mustAccess(this.c, st, "x", "");
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      if (e instanceof ConnectRpcError && e.code === "resource_exhausted") this.end(e.code, e.message);
      return;
    }
    try {
      this.addTree(fd, sandboxPath, rel);
    } catch (e) {
      this.end("resource_exhausted", e instanceof Error ? e.message : String(e));
    }
  }
}
