/**
 * One /proc pass for the resource monitor: every process with its parent, owner, resident memory and
 * CPU time (its own plus that of the children it reaped), read from /proc/<pid>/stat; and, when asked,
 * proportional memory from /proc/<pid>/smaps_rollup.
 */
import { readFileSync, statSync } from "node:fs";
import { procPids, type ProcEntry } from "./procfs.js";

/** Linux reports stat times in USER_HZ, 100 on every architecture Node runs on. */
const TICK_MS = 10;
const PAGE_BYTES = 4096;

export type ProcUsage = ProcEntry & {
  zombie: boolean;
  /** Tasks of the process (1 + its extra threads). */
  threads: number;
  /** utime + stime + cutime + cstime, ms. */
  cpuMs: number;
  rssBytes: number;
};

/** Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parseStat(pid: number, text: string, uid: number): ProcUsage | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // Fields after the name, from field 3 (state): index 0 = state, 1 = ppid, 11..14 = utime, stime,
  // cutime, cstime, 17 = num_threads, 21 = rss (pages).
  const f = text.slice(close + 2).split(" ");
  const n = (i: number) => Number(f[i] ?? 0) || 0;
  return {
    pid,
    ppid: n(1),
    uid,
    zombie: f[0] === "Z",
    threads: Math.max(1, n(17)),
    cpuMs: (n(11) + n(12) + n(13) + n(14)) * TICK_MS,
    rssBytes: n(21) * PAGE_BYTES,
  };
}

/** Every process in /proc (zombies included, flagged); processes that vanish mid-scan are skipped. */
export function scanProcUsage(): ProcUsage[] {
  const out: ProcUsage[] = [];
  for (const pid of procPids()) {
    try {
      const uid = statSync(`/proc/${pid}`).uid;
      const entry = parseStat(pid, readFileSync(`/proc/${pid}/stat`, "utf8"), uid);
      if (entry) out.push(entry);
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Sum of the proportional set size (PSS) of `pids` (live ones; zombies hold none), from
 * /proc/<pid>/smaps_rollup; undefined when none could be read (an older kernel, no permission).
 */
export function proportionalMemory(pids: number[], byPid: ReadonlyMap<number, ProcUsage>): number | undefined {
  let total = 0;
  let read = 0;
  for (const pid of pids) {
    const p = byPid.get(pid);
    if (!p || p.zombie) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    } catch {
      continue; // gone, or unreadable
    }
    const m = /^Pss:\s+(\d+) kB$/m.exec(text);
    if (!m) continue;
    total += Number(m[1]) * 1024;
    read++;
  }
  return read > 0 ? total : undefined;
}
