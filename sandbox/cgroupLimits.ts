/**
 * Kernel-enforced limits for sandboxes, when the host can create cgroups (cgroup v1 `memory` and
 * `pids` hierarchies, host running as root): each sandbox gets `lakitu-<hostpid>-<id>` under the host's
 * own cgroup in each, so it also stays inside whatever limits the host itself runs under.
 *
 * - memory: `memory.limit_in_bytes` a little above the limit, so a sandbox that allocates faster than
 *   the monitor samples is stopped by the kernel: with the OOM killer disabled its allocating tasks
 *   wait, the monitor sees `under_oom` in `memory.oom_control` and kills the sandbox for its memory
 *   limit.
 * - pids: `pids.max` = the processes limit, for every uid (RLIMIT_NPROC does not bind root).
 *
 * Every command enters the cgroups before it runs: a `/bin/sh` wrapper writes its own pid into each
 * `cgroup.procs` (made writable for the command's host uid) and then execs the command, so nothing it
 * forks starts outside. A cgroup is removed once its sandbox is gone; at start, cgroups left by a host
 * that is gone are removed. cgroup v2 is not used (its controllers need a delegated subtree); without
 * v1 the resource monitor's polling is the only enforcement.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { SpawnPlan } from "./isolation.js";

const PREFIX = "lakitu-";

/** Where the host's own cgroup is in a v1 hierarchy mounted with `controller`, or undefined. */
function ownCgroupDir(controller: string): string | undefined {
  let mounts: string;
  let self: string;
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8");
    self = readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return undefined;
  }
  const mount = mounts
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[2] === "cgroup" && (f[3] ?? "").split(",").includes(controller))?.[1];
  const rel = self
    .split("\n")
    .map((l) => l.split(":"))
    .find((f) => (f[1] ?? "").split(",").includes(controller))?.[2];
  if (!mount || rel === undefined) return undefined;
  const dir = path.join(mount, rel);
  return existsSync(dir) ? dir : undefined;
}

export class CgroupLimiter {
  private constructor(
    private readonly memoryParent: string | undefined,
    private readonly pidsParent: string | undefined,
    /** memory.limit_in_bytes of each sandbox (the memory limit plus headroom), or undefined. */
    readonly memoryCapBytes: number | undefined,
    private readonly maxProcesses: number,
  ) {}

  /**
   * A limiter when this host can create v1 cgroups for `memory` (if `memoryBytes` is finite) or `pids`;
   * undefined (with the reason) otherwise.
   */
  static detect(opts: { memoryBytes: number; maxProcesses: number }): { limiter?: CgroupLimiter; reason?: string } {
    if (process.getuid?.() !== 0) return { reason: "the host does not run as root" };
    const memoryParent = opts.memoryBytes === Infinity ? undefined : ownCgroupDir("memory");
    const pidsParent = ownCgroupDir("pids");
    if (!memoryParent && !pidsParent) return { reason: "no cgroup v1 memory or pids hierarchy is mounted" };
    const cap = memoryParent ? opts.memoryBytes + Math.max(Math.ceil(opts.memoryBytes / 8), 16 << 20) : undefined;
    const limiter = new CgroupLimiter(memoryParent, pidsParent, cap, opts.maxProcesses);
    const probe = `${PREFIX}${process.pid}-probe${Math.random().toString(36).slice(2, 8)}`;
    try {
      limiter.create(probe);
    } catch (e) {
      return { reason: `cannot create a cgroup: ${e instanceof Error ? e.message : String(e)}` };
    } finally {
      limiter.removeNow(probe);
    }
    return { limiter };
  }

  /** What the kernel enforces, for the host's report. */
  describe(): string {
    return [this.memoryParent && "memory", this.pidsParent && "pids"].filter(Boolean).join(" + ") + " cgroups (v1)";
  }

  /** The sandbox's cgroup directories (those of the hierarchies in use). */
  private paths(id: string): { memory?: string; pids?: string } {
    const name = id.startsWith(PREFIX) ? id : `${PREFIX}${process.pid}-${id}`;
    return {
      memory: this.memoryParent && path.join(this.memoryParent, name),
      pids: this.pidsParent && path.join(this.pidsParent, name),
    };
  }

  private dirs(id: string): string[] {
    const { memory, pids } = this.paths(id);
    return [memory, pids].filter((d): d is string => d !== undefined);
  }

  /** Creates the sandbox's cgroups with their limits. Throws when the kernel refuses. */
  create(id: string): void {
    try {
      this.createDirs(id);
    } catch (e) {
      this.removeNow(id);
      throw e;
    }
  }

  private createDirs(id: string): void {
    const { memory, pids } = this.paths(id);
    if (memory) {
      mkdirSync(memory);
      writeFileSync(path.join(memory, "memory.limit_in_bytes"), String(this.memoryCapBytes));
      // At the cap the kernel pauses the sandbox instead of killing one of its processes, so the monitor
      // kills the whole sandbox with the reason (a process the kernel killed would end its command first).
      writeFileSync(path.join(memory, "memory.oom_control"), "1");
      // With swap accounting, swap must not be a way around the limit.
      if (existsSync(path.join(memory, "memory.memsw.limit_in_bytes")))
        writeFileSync(path.join(memory, "memory.memsw.limit_in_bytes"), String(this.memoryCapBytes));
    }
    if (pids) {
      mkdirSync(pids);
      writeFileSync(path.join(pids, "pids.max"), String(this.maxProcesses));
    }
  }

  /** `plan` wrapped so the command enters the sandbox's cgroups before it runs. */
  wrap(id: string, plan: SpawnPlan): SpawnPlan {
    const procs = this.dirs(id).map((d) => path.join(d, "cgroup.procs"));
    if (plan.uid !== undefined) for (const f of procs) chownSync(f, plan.uid, plan.gid ?? plan.uid);
    return {
      ...plan,
      file: "/bin/sh",
      args: [
        "-c",
        'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; exec "$@"',
        "lakitu-cgroup",
        ...procs,
        "--",
        plan.file,
        ...plan.args,
      ],
    };
  }

  /** True when the sandbox hit its memory cap: it is paused in the kernel's OOM wait (or was OOM-killed). */
  outOfMemory(id: string): boolean {
    const { memory } = this.paths(id);
    if (!memory) return false;
    try {
      const text = readFileSync(path.join(memory, "memory.oom_control"), "utf8");
      return /^under_oom 1$/m.test(text) || Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0) > 0;
    } catch {
      return false;
    }
  }

  /** Removes the sandbox's cgroups once their last task is gone (retrying while tasks finish exiting). */
  async remove(id: string): Promise<void> {
    for (let attempt = 0; attempt < 40; attempt++) {
      if (this.removeNow(id)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** True when every cgroup of `id` is gone. */
  private removeNow(id: string): boolean {
    let done = true;
    for (const dir of this.dirs(id)) {
      try {
        rmdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") done = false;
      }
    }
    return done;
  }

  /** Removes empty cgroups a host that is gone left behind. Returns their names. */
  reconcile(alive: (pid: number) => boolean): string[] {
    const removed: string[] = [];
    for (const parent of [this.memoryParent, this.pidsParent]) {
      if (!parent) continue;
      let names: string[] = [];
      try {
        names = readdirSync(parent);
      } catch {
        continue;
      }
      for (const name of names) {
        const owner = /^lakitu-(\d+)-/.exec(name)?.[1];
        if (!owner || alive(Number(owner))) continue;
        try {
          rmdirSync(path.join(parent, name));
          removed.push(name);
        } catch {
          // still has tasks: left alone
        }
      }
    }
    return removed;
  }
}
