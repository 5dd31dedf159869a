/**
 * Per-sandbox resource limits, through the official `e2b` SDK against a real host with bubblewrap: a
 * command that crosses a limit gets its sandbox killed (its stream ends with 137 and an error naming
 * the limit, GET /sandboxes/{id} answers 404 naming it, the host logs it); a command under every limit
 * is left alone (processes: limits.test.ts, fork bombs). Limits are tiny here so crossing them is quick; waits are generous (loaded machine).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CommandExitError, Sandbox, SandboxNotFoundError } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { limitOfMessage, type LimitName } from "./sandboxLimits.js";
import { bwrapInstalled, tempRoot, waitFor } from "./testing/helpers.js";

const MiB = 1 << 20;
let host: SandboxHost;
let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };
const logged: string[] = [];

beforeAll(async () => {
  host = await startSandboxHost({
    root: tempRoot("reslimits"),
    isolation: bwrapInstalled() ? "bwrap" : "none",
    limits: { memoryBytes: 64 * MiB, diskBytes: 5 * MiB, diskEntries: 300, shmBytes: 1 * MiB, cpuMs: 1_000 },
    warn: (m) => logged.push(m),
  });
  opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
});
afterAll(async () => {
  await host?.close();
});

/** What GET /sandboxes/{id} answers (the SDK's getInfo keeps only "not found"). */
async function rawInfo(id: string): Promise<{ status: number; message: string }> {
  const res = await fetch(`${host.url}/sandboxes/${id}`, { headers: { "x-api-key": host.apiKey } });
  const body = (await res.json()) as { message?: string };
  return { status: res.status, message: body.message ?? "" };
}

/** Runs `cmd` (which crosses `limit`) and checks every trace the kill must leave. */
async function expectKilledFor(limit: LimitName, cmd: string, pattern: RegExp): Promise<void> {
  const sbx = await Sandbox.create("lakitu", { ...opts, timeoutMs: 120_000 });
  const id = sbx.sandboxId;
  const err = await sbx.commands.run(cmd, { timeoutMs: 60_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  // The command's stream ends with 137 and an error naming the limit.
  expect(err).toBeInstanceOf(CommandExitError);
  expect((err as CommandExitError).exitCode).toBe(137);
  expect((err as CommandExitError).error).toMatch(`sandbox ${id} was killed by the host: ${limit} limit`);
  // getInfo: 404, whose message names the limit; the SDK reports the sandbox as gone.
  const info = await rawInfo(id);
  expect(info.status).toBe(404);
  expect(info.message).toMatch(pattern);
  expect(limitOfMessage(info.message)).toBe(limit);
  await expect(Sandbox.getInfo(id, opts)).rejects.toBeInstanceOf(SandboxNotFoundError);
  // envd routes answer 502 (gone, as E2B's proxy does) with the same message.
  await expect(sbx.files.read("/home/user/anything")).rejects.toThrow(`sandbox ${id} was killed by the host: ${limit} limit`);
  // Removed like a normal kill: no process, no directory; and logged.
  expect(host.list().some((s) => s.sandboxId === id)).toBe(false);
  expect(logged.some((m) => m.includes(`sandbox ${id} was killed by the host: ${limit} limit`))).toBe(true);
}

describe.runIf(bwrapInstalled())("a sandbox that crosses a limit is killed, and says which", () => {
  it("memory: resident memory over 64 MiB", async () => {
    // Grows 4 MiB every 10 ms up to 512 MiB, then holds it.
    const grow = `node -e "const a=[];const t=setInterval(()=>{a.push(Buffer.alloc(4<<20,1));if(a.length>=128)clearInterval(t)},10);setTimeout(()=>{},60000)"`;
    await expectKilledFor("memory", grow, /^sandbox \w+ was killed by the host: memory limit 64 MiB exceeded \(used [\d.]+ (MiB|GiB)(: out of memory)?\)$/);
  });

  it("disk: two 3 MB files in the workspace over a 5 MiB limit", async () => {
    await expectKilledFor(
      "disk",
      "head -c 3000000 /dev/zero > /home/user/workspace/big1 && head -c 3000000 /dev/zero > /home/user/workspace/big2 && sleep 60",
      /killed by the host: disk limit 5 MiB exceeded \(used (over )?[\d.]+ MiB\)$/,
    );
  });

  it("disk: a single file stops growing at the limit (EFBIG), even between two samples", async () => {
    const sbx = await Sandbox.create("lakitu", { ...opts, timeoutMs: 120_000 });
    try {
      // Written and removed at once: the sampling could miss it, the per-file limit cannot.
      const r = await sbx.commands.run("head -c 8000000 /dev/zero > /home/user/workspace/big; s=$(stat -c %s /home/user/workspace/big); rm -f /home/user/workspace/big; echo size=$s", {
        timeoutMs: 60_000,
      });
      // head dies of SIGXFSZ ("File size limit exceeded"); a process that ignores it gets EFBIG.
      expect(r.stderr).toMatch(/File size limit exceeded|File too large/);
      const size = Number(/size=(\d+)/.exec(r.stdout)?.[1]);
      expect(size).toBeLessThanOrEqual(5 * MiB);
      expect(size).toBeGreaterThan(0);
    } finally {
      await Sandbox.kill(sbx.sandboxId, opts).catch(() => false);
    }
  });

  it("disk: more files than allowed (300) in /tmp", async () => {
    await expectKilledFor("disk", "mkdir /tmp/many && cd /tmp/many && touch $(seq 1 400) && sleep 60", /disk limit 300 files exceeded \(used (over )?\d+ files\)$/);
  });

  it("shm: 2 MB into /dev/shm over a 1 MiB limit (the tmpfs stops the write, the monitor the sandbox)", async () => {
    await expectKilledFor("shm", "head -c 2000000 /dev/zero > /dev/shm/x; sleep 60", /shm limit 1 MiB exceeded \(used [\d.]+ MiB\)$/);
  });

  it("cpu: a busy loop over 1 s of CPU time", async () => {
    await expectKilledFor("cpu", "while :; do :; done", /cpu limit 1 s exceeded \(used [\d.]+ s\)$/);
  });

  it("cpu: time of processes that already exited counts too", async () => {
    // Each child burns ~0.2 s and exits; none alone crosses 1 s, together they do.
    const burst = `for i in $(seq 1 200); do node -e "const e=Date.now()+200;while(Date.now()<e);"; done; sleep 60`;
    await expectKilledFor("cpu", burst, /cpu limit 1 s exceeded/);
  });
});

describe.runIf(bwrapInstalled())("a sandbox under every limit", () => {
  it("is left alone while it uses some of each", async () => {
    const sbx = await Sandbox.create("lakitu", { ...opts, timeoutMs: 120_000 });
    const id = sbx.sandboxId;
    // 1 MB on disk, 100 files, 512 KiB of /dev/shm, a little CPU and memory, then stays up a while.
    const handle = await sbx.commands.run(
      "head -c 1000000 /dev/urandom > /home/user/workspace/data && mkdir /tmp/few && cd /tmp/few && touch $(seq 1 100) && " +
        "head -c 524288 /dev/zero > /dev/shm/buf && echo ready && sleep 3 && echo done",
      { background: true, timeoutMs: 60_000 },
    );
    // The monitor has sampled what it uses (so it did look) ...
    const usage = await waitFor("a sample that sees the disk and /dev/shm use", () => {
      const u = host.usage(id);
      return u && u.diskBytes >= 1_000_000 && u.diskEntries >= 100 && u.shmBytes >= 512 * 1024 ? u : undefined;
    });
    expect(usage.memoryBytes).toBeGreaterThan(0);
    expect(usage.processes).toBeGreaterThan(0);
    // ... and let it finish.
    const result = await handle.wait();
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("ready\ndone\n");
    expect((await rawInfo(id)).status).toBe(200);
    expect((await sbx.commands.run("cat /home/user/workspace/data | wc -c")).stdout.trim()).toBe("1000000");
    expect(logged.some((m) => m.includes(id))).toBe(false);
    await sbx.kill();
  });
});

describe.runIf(bwrapInstalled())("memory without cgroups (polling only)", () => {
  let polled: SandboxHost;
  beforeAll(async () => {
    polled = await startSandboxHost({ root: tempRoot("reslimits-poll"), cgroups: false, limits: { memoryBytes: 64 * MiB }, warn: () => {} });
  });
  afterAll(async () => {
    await polled?.close();
  });

  it("kills a sandbox whose processes' memory (RSS, confirmed by PSS) goes over the limit", async () => {
    expect(polled.resourceEnforcement).toMatch(/^no cgroups \(disabled by the cgroups option\); polled every 250 ms$/);
    const popts = { apiKey: polled.apiKey, apiUrl: polled.url, sandboxUrl: polled.url };
    const sbx = await Sandbox.create("lakitu", { ...popts, timeoutMs: 120_000 });
    const grow = `node -e "const a=[];const t=setInterval(()=>{a.push(Buffer.alloc(4<<20,1));if(a.length>=64)clearInterval(t)},10);setTimeout(()=>{},60000)"`;
    const err = (await sbx.commands.run(grow, { timeoutMs: 60_000 }).catch((e: unknown) => e)) as CommandExitError;
    expect(err.exitCode).toBe(137);
    expect(err.error).toMatch(new RegExp(`^sandbox ${sbx.sandboxId} was killed by the host: memory limit 64 MiB exceeded \\(used [\\d.]+ MiB\\)$`));
  });
});

/** This process's cgroup path in a v1 hierarchy. */
function readOwn(controller: string): string {
  return (
    readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[1] === controller)?.[2] ?? "/"
  );
}

/** The sandbox's directory in the v1 pids hierarchy, from one of its processes. */
function pidsCgroupOf(pid: number): string | undefined {
  try {
    const rel = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[1] === "pids")?.[2];
    return rel && /\/lakitu-\d+-\w+$/.test(rel) ? path.join("/sys/fs/cgroup/pids", rel) : undefined;
  } catch {
    return undefined;
  }
}

/** The sandbox's directory in the v1 memory hierarchy, from one of its processes. */
function memoryCgroupOf(pid: number): string | undefined {
  try {
    const rel = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[1] === "memory")?.[2];
    return rel && /\/lakitu-\d+-\w+$/.test(rel) ? path.join("/sys/fs/cgroup/memory", rel) : undefined;
  } catch {
    return undefined;
  }
}

const cgroupsV1 =
  process.getuid?.() === 0 && existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes") && existsSync("/sys/fs/cgroup/pids/cgroup.procs");

describe.runIf(bwrapInstalled() && cgroupsV1)(
  "memory with cgroups (the kernel holds the cap between samples)",
  () => {
    let kernel: SandboxHost;
    beforeAll(async () => {
      // The monitor never samples during the test: only the kernel stands between the sandbox and 1 GiB.
      kernel = await startSandboxHost({ root: tempRoot("reslimits-cg"), limits: { memoryBytes: 64 * MiB, pollIntervalMs: 600_000 }, warn: () => {} });
    });
    afterAll(async () => {
      await kernel?.close();
    });

    it("pauses a sandbox at its cgroup's cap instead of letting it allocate 1 GiB, and removes the cgroup with the sandbox", async () => {
      expect(kernel.resourceEnforcement).toMatch(/^kernel: memory( \+ pids)? cgroups \(v1\)/);
      const kopts = { apiKey: kernel.apiKey, apiUrl: kernel.url, sandboxUrl: kernel.url };
      const sbx = await Sandbox.create("lakitu", { ...kopts, timeoutMs: 120_000 });
      const handle = await sbx.commands.run(`node -e "globalThis.b=Buffer.alloc(1<<30,1);setTimeout(()=>{},60000)"`, { background: true, timeoutMs: 0 });
      const summary = () => kernel.list().find((s) => s.sandboxId === sbx.sandboxId)!;
      const dir = await waitFor("the sandbox's memory cgroup", () => summary().pids.map(memoryCgroupOf).find(Boolean));
      expect(Number(readFileSync(path.join(dir, "memory.limit_in_bytes"), "utf8"))).toBe(80 * MiB); // 64 MiB + 16 MiB headroom
      await waitFor("the sandbox to be held at its cap", () => /^under_oom 1$/m.test(readFileSync(path.join(dir, "memory.oom_control"), "utf8")), 20_000);
      expect(Number(readFileSync(path.join(dir, "memory.max_usage_in_bytes"), "utf8"))).toBeLessThanOrEqual(80 * MiB);
      expect((await sbx.commands.list()).map((p) => p.pid)).toContain(handle.pid); // held, not OOM-killed
      await sbx.kill();
      await waitFor("the cgroup removed", () => !existsSync(dir), 5_000);
    });

    it("holds a fork bomb at pids.max even when the sandbox shares the host's uid (no RLIMIT_NPROC for root)", async () => {
      const shared = await startSandboxHost({
        root: tempRoot("reslimits-pids"),
        perSandboxUid: false,
        limits: { maxProcesses: 32, pollIntervalMs: 600_000 },
        warn: () => {},
      });
      try {
        expect(shared.resourceEnforcement).toMatch(/pids cgroups/);
        const sopts = { apiKey: shared.apiKey, apiUrl: shared.url, sandboxUrl: shared.url };
        const sbx = await Sandbox.create("lakitu", { ...sopts, timeoutMs: 120_000 });
        await sbx.commands.run("bomb() { bomb | bomb & }; bomb; sleep 60", { background: true, timeoutMs: 0 });
        const summary = () => shared.list().find((s) => s.sandboxId === sbx.sandboxId)!;
        const pidsDir = await waitFor("the sandbox's pids cgroup", () =>
          summary()
            .pids.map((pid) => pidsCgroupOf(pid))
            .find(Boolean),
        );
        const max = Number(readFileSync(path.join(pidsDir, "pids.max"), "utf8"));
        expect(max).toBe(32);
        // It hits the cap (the kernel refuses forks past it) and never goes over.
        await waitFor("the bomb at the cap", () => Number(readFileSync(path.join(pidsDir, "pids.events"), "utf8").split(" ")[1]) > 0, 20_000);
        expect(Number(readFileSync(path.join(pidsDir, "pids.current"), "utf8"))).toBeLessThanOrEqual(32);
        await sbx.kill();
        await waitFor("the cgroup removed", () => !existsSync(pidsDir), 5_000);
      } finally {
        await shared.close();
      }
    });

    it("removes at start the cgroups a host that is gone left behind", async () => {
      const leftover = path.join("/sys/fs/cgroup/memory", readOwn("memory"), "lakitu-999999-leftover"); // pid 999999 > pid_max: never alive
      mkdirSync(leftover);
      expect(existsSync(leftover)).toBe(true);
      const next = await startSandboxHost({ root: tempRoot("reslimits-reconcile"), warn: () => {} });
      try {
        expect(existsSync(leftover)).toBe(false);
      } finally {
        await next.close();
      }
    });
  },
);
