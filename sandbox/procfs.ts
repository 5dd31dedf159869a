/**
 * The host's view of sandbox processes, read from /proc (Linux): which processes descend from a
 * command the host started, which belong to a sandbox's own uid, and whether a pid is still alive
 * (a zombie counts as dead: it runs nothing and only waits to be reaped).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";

export type ProcEntry = { pid: number; ppid: number; uid: number };

/** The pids in /proc right now (none if /proc cannot be read). */
export function procPids(): number[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Every process visible in /proc with its parent and owner; processes that vanish mid-scan are skipped. */
export function listProcesses(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const pid of procPids()) {
    const stat = readStat(pid);
    if (!stat || stat.state === "Z") continue;
    let uid: number;
    try {
      uid = statSync(`/proc/${pid}`).uid;
    } catch {
      continue;
    }
    out.push({ pid: stat.pid, ppid: stat.ppid, uid });
  }
  return out;
}

/** `pid`, `state` and `ppid` from /proc/<pid>/stat (the command name may hold spaces and parentheses). */
function readStat(pid: number): { pid: number; state: string; ppid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(" ");
  return { pid, state: fields[0] ?? "?", ppid: Number(fields[1]) };
}

/** True while a process with this pid exists, ours or not (signal 0; EPERM means it exists). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/**
 * One snapshot's indexes (children by parent, pids by uid, the live set), built once per snapshot and
 * shared by every query on it: the host's monitor asks each sandbox for its processes every tick, and
 * rebuilding the parent map per sandbox made that quadratic in the number of sandboxes.
 */
type ProcIndex = { children: Map<number, number[]>; byUid: Map<number, number[]>; alive: Set<number> };
const indexes = new WeakMap<ProcEntry[], ProcIndex>();
function indexOf(procs: ProcEntry[]): ProcIndex {
  let index = indexes.get(procs);
  if (index) return index;
  index = { children: new Map(), byUid: new Map(), alive: new Set() };
  for (const p of procs) {
    index.alive.add(p.pid);
    push(index.children, p.ppid, p.pid);
    push(index.byUid, p.uid, p.pid);
  }
  indexes.set(procs, index);
  return index;
}
function push(map: Map<number, number[]>, key: number, pid: number): void {
  const list = map.get(key);
  if (list) list.push(pid);
  else map.set(key, [pid]);
}

/** The given roots (those still alive) and all their live descendants, from one /proc snapshot. */
export function descendants(roots: Iterable<number>, procs: ProcEntry[] = listProcesses()): number[] {
  const { children, alive } = indexOf(procs);
  const seen = new Set<number>();
  const stack = [...roots].filter((pid) => alive.has(pid));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return [...seen];
}

/** The live tree under `root` by depth: `[[root], [its children], [grandchildren], ...]`. */
export function treeLevels(root: number, procs: ProcEntry[] = listProcesses()): number[][] {
  const { children, alive } = indexOf(procs);
  const levels: number[][] = [];
  const seen = new Set<number>();
  let level = alive.has(root) ? [root] : [];
  while (level.length > 0) {
    levels.push(level);
    for (const pid of level) seen.add(pid);
    level = level.flatMap((pid) => children.get(pid) ?? []).filter((pid) => !seen.has(pid));
  }
  return levels;
}

/** Live pids owned by `uid`. */
export function processesOfUid(uid: number, procs: ProcEntry[] = listProcesses()): number[] {
  return [...(indexOf(procs).byUid.get(uid) ?? [])];
}

/** The live direct children of `pid`. */
export function childrenOf(pid: number, procs: ProcEntry[] = listProcesses()): number[] {
  return [...(indexOf(procs).children.get(pid) ?? [])];
}

/** `kill(2)` that ignores a process already gone (ESRCH); other errors (EPERM) are also ignored. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already, or not ours
  }
}

/** Polls until none of `pids` is alive, or `timeoutMs` passes. Returns the pids still alive. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    left = left.filter(isAlive);
  }
  return left;
}
