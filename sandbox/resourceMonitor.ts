/**
 * Watches every sandbox of a host against its resource limits and reports the first one it crosses.
 *
 * Every `pollIntervalMs` one /proc pass gives, per sandbox (its init's tree with the daemons it adopted,
 * its commands' trees and, with own uids, every process of those uids): the number of tasks (processes
 * and threads), their resident memory, their CPU time, and its /dev/shm tmpfs (read through
 * `/proc/<pid>/root`). Memory is the sum of RSS, confirmed
 * with PSS (`smaps_rollup`) when over the limit. CPU time includes processes that
 * are gone: a process reaped inside the sandbox shows up in its parent's child times; one whose parent
 * is outside (a command's top process, reaped by the host) is carried with its last sample. Disk is a
 * bounded walk of the sandbox's directory in the background, at most every `diskPollIntervalMs` and never more often
 * than 20 times its last duration after it (so walking one sandbox costs at most 1/20 of the host's time).
 *
 * Polling means a sandbox can overshoot a limit by what it does in one interval before it is killed;
 * the kill itself is the registry's (`onViolation`).
 */
import { readlinkSync } from "node:fs";
import { diskUsage, filesystemUsage } from "./diskUsage.js";
import type { ProcEntry } from "./procfs.js";
import { proportionalMemory, scanProcUsage, type ProcUsage } from "./procUsage.js";
import { formatBytes, formatMs, type LimitViolation, type ResourceLimits } from "./sandboxLimits.js";

/** What the monitor needs of a sandbox (sandboxes.ts `Sandbox` satisfies it). */
export type MonitoredSandbox = {
  readonly id: string;
  readonly killed: boolean;
  readonly dirs: { dir: string };
  readonly commands: ReadonlyMap<number, { readonly pid: number; readonly exited: boolean }>;
  pids(procs: ProcEntry[]): number[];
};

/** Usage of one sandbox at the last sample. */
export type SandboxUsage = {
  /** Tasks (processes and their threads), as RLIMIT_NPROC and the pids cgroup count them. */
  processes: number;
  memoryBytes: number;
  cpuMs: number;
  shmBytes: number;
  /** From the last disk walk (walks are rarer than samples). */
  diskBytes: number;
  diskEntries: number;
};

type Track = {
  carriedCpuMs: number;
  last: Map<number, { cpuMs: number; ppid: number }>;
  nextDiskAt: number;
  diskWalking: boolean;
  usage: SandboxUsage;
};

export class ResourceMonitor {
  private readonly tracks = new Map<string, Track>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: ResourceLimits,
    private readonly sandboxes: () => MonitoredSandbox[],
    /** Size of each command's /dev/shm tmpfs (bwrap), which identifies it; undefined: not checked. */
    private readonly shmTmpfsBytes: number | undefined,
    private readonly onViolation: (sandbox: MonitoredSandbox, violation: LimitViolation) => void,
    private readonly warn: (message: string) => void,
    /** The sandboxes' memory cgroups, when they have them: reaching a cgroup's cap is a crossed memory limit. */
    private readonly kernel?: { outOfMemory(id: string): boolean; readonly memoryCapBytes: number | undefined },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tickSafely(), this.limits.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last sample of a sandbox, if it was sampled. */
  usage(id: string): SandboxUsage | undefined {
    const t = this.tracks.get(id);
    return t ? { ...t.usage } : undefined;
  }

  private tickSafely(): void {
    try {
      this.tick();
    } catch (e) {
      this.warn(`lakitu sandbox: the resource monitor failed a sample: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** One sample of every sandbox; reports each crossing. Public for tests. */
  tick(): void {
    const live = this.sandboxes().filter((s) => !s.killed);
    for (const id of this.tracks.keys()) if (!live.some((s) => s.id === id)) this.tracks.delete(id);
    if (live.length === 0) return;
    const procs = scanProcUsage();
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    for (const s of live) {
      const violation = this.sample(s, procs, byPid);
      if (violation) {
        this.tracks.delete(s.id);
        this.onViolation(s, violation);
      }
    }
  }

  private sample(s: MonitoredSandbox, procs: ProcUsage[], byPid: Map<number, ProcUsage>): LimitViolation | undefined {
    const L = this.limits;
    let t = this.tracks.get(s.id);
    if (!t) {
      t = { carriedCpuMs: 0, last: new Map(), nextDiskAt: 0, diskWalking: false, usage: { processes: 0, memoryBytes: 0, cpuMs: 0, shmBytes: 0, diskBytes: 0, diskEntries: 0 } };
      this.tracks.set(s.id, t);
    }
    const pids = s.pids(procs);
    const mine = new Set(pids);
    for (const [pid, prev] of t.last) {
      if (mine.has(pid)) continue;
      // Gone. Reaped by a parent still in the sandbox: its time is in that parent's child times now.
      if (!mine.has(prev.ppid)) t.carriedCpuMs += prev.cpuMs;
      t.last.delete(pid);
    }
    let cpuMs = t.carriedCpuMs;
    let memoryBytes = 0;
    let tasks = 0;
    for (const pid of pids) {
      const p = byPid.get(pid);
      if (!p) continue;
      cpuMs += p.cpuMs;
      if (!p.zombie) memoryBytes += p.rssBytes;
      tasks += p.threads;
      t.last.set(pid, { cpuMs: p.cpuMs, ppid: p.ppid });
    }
    const u = t.usage;
    u.processes = tasks;
    u.memoryBytes = memoryBytes;
    u.cpuMs = cpuMs;
    u.shmBytes = this.shmTmpfsBytes !== undefined ? this.shmUsed(pids, this.shmTmpfsBytes) : 0;

    // RSS counts shared pages (libraries, a forked parent's memory) once per process, so a sum over the
    // limit is confirmed with PSS, which splits each shared page between its users (and costs more).
    if (u.memoryBytes > L.memoryBytes) u.memoryBytes = proportionalMemory(pids, byPid) ?? u.memoryBytes;
    // Faster than a sample: the kernel stopped it at the cgroup's cap.
    if (this.kernel?.outOfMemory(s.id))
      return { limit: "memory", allowed: formatBytes(L.memoryBytes), verb: "exceeded", used: `${formatBytes(this.kernel.memoryCapBytes ?? u.memoryBytes)}: out of memory` };
    if (u.memoryBytes > L.memoryBytes)
      return { limit: "memory", allowed: formatBytes(L.memoryBytes), verb: "exceeded", used: formatBytes(u.memoryBytes) };
    if (u.processes >= L.maxProcesses)
      return { limit: "processes", allowed: String(L.maxProcesses), verb: "reached", used: `${u.processes} processes and threads` };
    if (u.cpuMs > L.cpuMs) return { limit: "cpu", allowed: formatMs(L.cpuMs), verb: "exceeded", used: formatMs(u.cpuMs) };
    if (u.shmBytes > L.shmBytes) return { limit: "shm", allowed: formatBytes(L.shmBytes), verb: "exceeded", used: formatBytes(u.shmBytes) };

    if (Date.now() >= t.nextDiskAt && !t.diskWalking && (L.diskBytes !== Infinity || L.diskEntries !== Infinity)) this.walkDisk(s, t);
    return undefined;
  }

  /** Walks the sandbox's directory in the background; a crossing found is reported if it still runs. */
  private walkDisk(s: MonitoredSandbox, t: Track): void {
    const L = this.limits;
    t.diskWalking = true;
    const started = performance.now();
    void diskUsage([s.dirs.dir], { maxBytes: L.diskBytes, maxEntries: L.diskEntries })
      .then((d) => {
        t.diskWalking = false;
        t.nextDiskAt = Date.now() + Math.max(L.diskPollIntervalMs, 20 * (performance.now() - started));
        t.usage.diskBytes = d.bytes;
        t.usage.diskEntries = d.entries;
        const over = d.complete ? "" : "over ";
        const violation: LimitViolation | undefined =
          d.bytes > L.diskBytes
            ? { limit: "disk", allowed: formatBytes(L.diskBytes), verb: "exceeded", used: `${over}${formatBytes(d.bytes)}` }
            : d.entries > L.diskEntries
              ? { limit: "disk", allowed: `${L.diskEntries} files`, verb: "exceeded", used: `${over}${d.entries} files` }
              : undefined;
        if (violation && !s.killed && this.tracks.get(s.id) === t) {
          this.tracks.delete(s.id);
          this.onViolation(s, violation);
        }
      })
      .catch((e: unknown) => {
        t.diskWalking = false;
        this.warn(`lakitu sandbox: walking the disk of sandbox ${s.id} failed: ${e instanceof Error ? e.message : String(e)}`);
      });
  }

  /**
   * Bytes used in the sandbox's /dev/shm tmpfs (its init's mount namespace, which every command joins):
   * per mount namespace among its processes other than the host's, the /dev/shm seen from one of them
   * if it is a filesystem of exactly the size the host gave it.
   */
  private shmUsed(pids: number[], tmpfsBytes: number): number {
    let total = 0;
    const seen = new Set<string | undefined>([HOST_MOUNT_NS, undefined]);
    for (const pid of pids) {
      const ns = mountNamespace(pid);
      if (seen.has(ns)) continue;
      seen.add(ns);
      const fs = filesystemUsage(`/proc/${pid}/root/dev/shm`);
      if (fs && fs.sizeBytes === tmpfsBytes) total += fs.usedBytes;
    }
    return total;
  }
}

function mountNamespace(pid: number | "self"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}
const HOST_MOUNT_NS = mountNamespace("self");
