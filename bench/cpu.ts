/**
 * CPU accounting for the throughput section: this process (the host: convex-test, the sandbox host, the
 * HTTP bridge, the provider), the processes it started (the sandboxes and their runtimes), and the
 * host's main thread split by what code it was running (a sampling profile).
 *
 * Children: Linux adds a process's CPU time to its parent's `cutime`/`cstime` when the parent reaps it,
 * and the runtime, its executors, the sandbox's init and bubblewrap are each reaped by their parent up
 * to this process. So the children's CPU of a window is the growth of this process's child times plus
 * the growth of the CPU of the descendants still alive at its end (their own and their reaped
 * children's). A process whose parent died first (re-parented to init) is not counted.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Session } from "node:inspector/promises";

/** Linux reports stat times in USER_HZ, 100 on every architecture Node runs on. */
const TICK_MS = 10;

type Stat = { ppid: number; self: number; children: number };

function stat(pid: number | "self"): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const n = (i: number) => Number(f[i] ?? 0) || 0;
    return { ppid: n(1), self: (n(11) + n(12)) * TICK_MS, children: (n(13) + n(14)) * TICK_MS };
  } catch {
    return undefined; // gone between the listing and the read
  }
}

/** Live descendants of this process, each with its CPU (own + reaped children's), ms. */
function descendants(): Map<number, number> {
  const byParent = new Map<number, Array<{ pid: number; cpu: number }>>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    const list = byParent.get(s.ppid) ?? [];
    list.push({ pid: Number(name), cpu: s.self + s.children });
    byParent.set(s.ppid, list);
  }
  const out = new Map<number, number>();
  const walk = (pid: number) => {
    for (const c of byParent.get(pid) ?? []) {
      out.set(c.pid, c.cpu);
      walk(c.pid);
    }
  };
  walk(process.pid);
  return out;
}

export type CpuWindow = {
  /** This process, all threads (`process.cpuUsage`), s. */
  hostS: number;
  /** The processes this one started and their descendants, s. */
  childrenS: number;
  /** Descendants still alive at the end (their CPU so far is included). */
  liveAtEnd: number;
};

/** Starts a CPU window; call the result to close it. */
export function cpuWindow(): () => CpuWindow {
  const host0 = process.cpuUsage();
  const reaped0 = stat("self")?.children ?? 0;
  const live0 = descendants();
  return () => {
    const host = process.cpuUsage(host0);
    const reaped = (stat("self")?.children ?? 0) - reaped0;
    const live = descendants();
    let ms = reaped;
    // Alive at the end: its growth (all of it when born since).
    for (const [pid, cpu] of live) ms += cpu - Math.min(cpu, live0.get(pid) ?? 0);
    // Alive at the start and gone since: its time before the window reached a parent's child times.
    for (const [pid, cpu] of live0) if (!live.has(pid)) ms -= cpu;
    return { hostS: (host.user + host.system) / 1e6, childrenS: Math.max(0, ms) / 1000, liveAtEnd: live.size };
  };
}

/** What the host's main thread ran, by category of the nearest frame of known code on the stack. */
export type ProfileSplit = Array<{ category: string; share: number }>;

const CATEGORIES: Array<[RegExp, string]> = [
  [/node_modules\/convex-test\//, "convex-test (transactions, queries, validation)"],
  [/\/convex\/testkit\/limits|\/cli\/embedded\/counters/, "limits checker + call counters"],
  [/\/cli\/embedded\/(indexedDb|storageWrites|modules)/, "embedded deployment's index layer"],
  [/\/convex\/|node_modules\/(convex|@convex-dev)\//, "Lakitu + workflow/workpool function code, convex values"],
  [/\/cli\/embedded\/deployment|node_modules\/undici\//, "HTTP bridge to the routes"],
  [/\/sandbox\/(resourceMonitor|resourceEnforcement|procUsage|procfs|diskUsage|cgroupLimits)\./, "sandbox host: resource monitor (/proc, disk and cgroup polling)"],
  [/\/sandbox\//, "sandbox host: the rest (E2B API, envd, inits, component bridge)"],
  [/node_modules\/(e2b|@connectrpc|@bufbuild)\/|\/cli\/embedded\/(provider|processProvider)/, "provider action (E2B SDK / process spawn)"],
  [/\/bench\//, "benchmark driver (polling the board)"],
];

/** Samples the main thread until the returned function is called; then the split of its busy time. */
export async function profileMainThread(intervalUs = 2_000): Promise<() => Promise<ProfileSplit>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    // For a closer look (node tooling, Chrome DevTools): LAKITU_BENCH_PROFILE_DIR=/tmp/profiles.
    const dir = process.env.LAKITU_BENCH_PROFILE_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `throughput-${Date.now()}.cpuprofile`), JSON.stringify(profile));
    }
    return splitProfile(profile as Profile);
  };
}

type Profile = { nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>; samples: number[]; timeDeltas: number[] };

export function splitProfile(p: Profile): ProfileSplit {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const memo = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const hit = memo.get(id);
    if (hit) return hit;
    const { functionName, url } = byId.get(id)!.callFrame;
    let c: string | undefined;
    if (functionName === "(garbage collector)") c = "garbage collection";
    else if (functionName === "(program)") c = "V8/Node outside JS (program)";
    else c = CATEGORIES.find(([re]) => re.test(url))?.[1];
    if (!c) {
      const up = parent.get(id);
      c = up === undefined ? "Node internals, no app frame (sockets, timers, streams)" : categoryOf(up);
    }
    memo.set(id, c);
    return c;
  };
  const time = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    const d = p.timeDeltas[i] ?? 0;
    busy += d;
    const c = categoryOf(node.id);
    time.set(c, (time.get(c) ?? 0) + d);
  }
  return [...time.entries()].map(([category, t]) => ({ category, share: busy ? t / busy : 0 })).sort((a, b) => b.share - a.share);
}
