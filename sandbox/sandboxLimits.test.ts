/**
 * The pieces of per-sandbox resource limits without a host: configuration checks, the kill message
 * and its marker, /proc parsing, the disk walk, and the monitor's decisions on fake sandboxes.
 */
import { linkSync, mkdirSync, openSync, closeSync, ftruncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { diskUsage } from "./diskUsage.js";
import { parseStat } from "./procUsage.js";
import { ResourceMonitor, type MonitoredSandbox } from "./resourceMonitor.js";
import {
  DEFAULT_RESOURCE_LIMITS,
  LimitConfigError,
  limitKillMessage,
  limitOfMessage,
  parseByteSize,
  parseDurationMs,
  resolveLimits,
  shmTmpfsBytes,
  type LimitViolation,
} from "./sandboxLimits.js";
import { tempRoot } from "./testing/helpers.js";

const MiB = 1 << 20;

describe("limit configuration", () => {
  it("has the documented defaults", () => {
    expect(resolveLimits()).toEqual({
      memoryBytes: 1024 * MiB,
      maxProcesses: 256,
      diskBytes: 1024 * MiB,
      diskEntries: 200_000,
      shmBytes: 64 * MiB,
      cpuMs: 600_000,
      pollIntervalMs: 250,
      diskPollIntervalMs: 1_000,
    });
  });

  it("overrides, and turns a limit off with Infinity", () => {
    const l = resolveLimits({ memoryBytes: 64 * MiB, cpuMs: Infinity });
    expect(l.memoryBytes).toBe(64 * MiB);
    expect(l.cpuMs).toBe(Infinity);
    expect(l.diskBytes).toBe(DEFAULT_RESOURCE_LIMITS.diskBytes);
  });

  it("refuses bad values naming the field, the problem and what is allowed", () => {
    const refused = (given: Record<string, unknown>) => {
      try {
        resolveLimits(given as never);
      } catch (e) {
        expect(e).toBeInstanceOf(LimitConfigError);
        expect((e as LimitConfigError).code).toBe("invalid_sandbox_limit");
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refused({ memoryBytes: 1.5 })).toBe("memoryBytes: must be an integer or Infinity (off), got 1.5");
    expect(refused({ memoryBytes: 1024 })).toBe("memoryBytes: 1024 is below the minimum of 8388608");
    expect(refused({ maxProcesses: Infinity })).toBe("maxProcesses: must be an integer, got Infinity");
    expect(refused({ cpuMs: "10m" })).toMatch(/^cpuMs: must be an integer or Infinity \(off\), got "10m"$/);
    expect(refused({ memory: 5 })).toMatch(/^memory: unknown limit; known: memoryBytes, maxProcesses/);
  });

  it("parses sizes and durations as typed on a command line", () => {
    expect(parseByteSize("memory", "512MiB")).toBe(512 * MiB);
    expect(parseByteSize("memory", "1g")).toBe(1024 * MiB);
    expect(parseByteSize("memory", "4096")).toBe(4096);
    expect(parseByteSize("memory", "off")).toBe(Infinity);
    expect(() => parseByteSize("--memory", "lots")).toThrow('--memory: "lots" is not a size; use bytes or a unit (KiB, MiB, GiB), e.g. 512MiB, or off');
    expect(parseDurationMs("cpu", "10min")).toBe(600_000);
    expect(parseDurationMs("cpu", "90s")).toBe(90_000);
    expect(parseDurationMs("cpu", "1500")).toBe(1_500);
    expect(parseDurationMs("cpu", "none")).toBe(Infinity);
    expect(() => parseDurationMs("--cpu", "soon")).toThrow(/--cpu: "soon" is not a duration/);
  });

  it("sizes /dev/shm a little above its limit (so crossing it is possible, and seen)", () => {
    expect(shmTmpfsBytes(1 * MiB)).toBe(1 * MiB + 64 * 1024);
    expect(shmTmpfsBytes(64 * MiB)! % 4096).toBe(0);
    expect(shmTmpfsBytes(64 * MiB)).toBeGreaterThan(64 * MiB);
    expect(shmTmpfsBytes(Infinity)).toBeUndefined();
  });
});

describe("the kill message", () => {
  it("has a stable marker naming the limit", () => {
    const v: LimitViolation = { limit: "memory", allowed: "1 GiB", verb: "exceeded", used: "1.02 GiB" };
    const m = limitKillMessage("abc", v);
    expect(m).toBe("sandbox abc was killed by the host: memory limit 1 GiB exceeded (used 1.02 GiB)");
    expect(limitOfMessage(m)).toBe("memory");
    expect(limitOfMessage(`upstream: ${limitKillMessage("x", { ...v, limit: "processes", verb: "reached" })}`)).toBe("processes");
    expect(limitOfMessage("sandbox abc not found")).toBeUndefined();
  });
});

describe("/proc/<pid>/stat", () => {
  it("reads parent, state, threads, CPU (own + reaped children) and RSS, with a name holding ') ('", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
    const text = "42 (a) (b) S 7 42 42 0 -1 0 0 0 0 0 150 50 30 20 20 0 3 0 100 1000000 256 rest";
    expect(parseStat(42, text, 1000)).toEqual({ pid: 42, ppid: 7, uid: 1000, zombie: false, threads: 3, cpuMs: 2_500, rssBytes: 256 * 4096 });
    expect(parseStat(1, "1 (z) Z 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0", 0)?.zombie).toBe(true);
    expect(parseStat(1, "garbage", 0)).toBeUndefined();
  });
});

describe("disk walk", () => {
  it("counts allocated bytes and entries; sparse files count what they use, hard links once", async () => {
    const root = tempRoot("diskwalk");
    mkdirSync(path.join(root, "a/b"), { recursive: true });
    writeFileSync(path.join(root, "a/b/data"), Buffer.alloc(256 * 1024, 1));
    linkSync(path.join(root, "a/b/data"), path.join(root, "a/link"));
    const fd = openSync(path.join(root, "sparse"), "w");
    ftruncateSync(fd, 1024 * MiB);
    closeSync(fd);
    const u = await diskUsage([root], { maxBytes: Infinity, maxEntries: Infinity });
    expect(u.complete).toBe(true);
    expect(u.entries).toBe(5); // a, a/b, a/b/data, a/link, sparse
    expect(u.bytes).toBeGreaterThanOrEqual(256 * 1024);
    expect(u.bytes).toBeLessThan(512 * 1024); // not the link twice, not the sparse file's 1 GiB
  });

  it("stops early once over a limit (bounded cost: at most one batch of 64 past it)", async () => {
    const root = tempRoot("diskwalk-many");
    for (let i = 0; i < 200; i++) writeFileSync(path.join(root, `f${i}`), "x");
    const u = await diskUsage([root], { maxBytes: Infinity, maxEntries: 10 });
    expect(u).toMatchObject({ entries: 64, complete: false });
  });
});

describe("the monitor's decisions", () => {
  const idle: MonitoredSandbox = { id: "s1", killed: false, dirs: { dir: "/nonexistent" }, commands: new Map(), pids: () => [] };

  function run(limits: Partial<typeof DEFAULT_RESOURCE_LIMITS>, kernel?: { outOfMemory(id: string): boolean; memoryCapBytes: number | undefined }) {
    const seen: Array<[string, LimitViolation]> = [];
    const m = new ResourceMonitor(resolveLimits(limits), () => [idle], undefined, (s, v) => seen.push([s.id, v]), () => {}, kernel);
    m.tick();
    return { seen, usage: m.usage("s1") };
  }

  it("reports nothing for a sandbox under its limits, and records a sample", () => {
    const { seen, usage } = run({});
    expect(seen).toEqual([]);
    expect(usage).toMatchObject({ processes: 0, memoryBytes: 0, cpuMs: 0 });
  });

  it("reports a memory crossing when the kernel stopped the sandbox at its cgroup cap (between samples)", () => {
    const { seen } = run({ memoryBytes: 64 * MiB }, { outOfMemory: (id) => id === "s1", memoryCapBytes: 80 * MiB });
    expect(seen).toEqual([["s1", { limit: "memory", allowed: "64 MiB", verb: "exceeded", used: "80 MiB: out of memory" }]]);
  });

  it("reports the processes limit once the sandbox's tasks reach it (this test process's own tasks)", () => {
    const self: MonitoredSandbox = { ...idle, pids: () => [process.pid] };
    const seen: LimitViolation[] = [];
    const m = new ResourceMonitor(resolveLimits({ maxProcesses: 4 }), () => [self], undefined, (_s, v) => seen.push(v), () => {});
    m.tick();
    // Node runs several threads; they count, as RLIMIT_NPROC and pids.max count them.
    expect(seen[0]).toMatchObject({ limit: "processes", allowed: "4", verb: "reached" });
  });

  it("keeps the CPU time of processes that are gone", () => {
    let pids = [process.pid];
    const s: MonitoredSandbox = { ...idle, pids: () => pids };
    const m = new ResourceMonitor(resolveLimits({ cpuMs: Infinity }), () => [s], undefined, () => {}, () => {});
    const spin = Date.now() + 150;
    while (Date.now() < spin);
    m.tick();
    const before = m.usage("s1")!.cpuMs;
    expect(before).toBeGreaterThan(0);
    pids = []; // "exited", and its parent is not in the sandbox: carried
    m.tick();
    expect(m.usage("s1")!.cpuMs).toBe(before);
  });
});
