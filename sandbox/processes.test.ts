/**
 * One pid namespace per sandbox (bwrap), through the official SDK: in-sandbox pids, processes that see
 * and signal each other across commands, daemons that outlive their command until the sandbox ends,
 * and E2B's TimeoutError for a command whose sandbox is killed under it.
 */
import { readFileSync } from "node:fs";
import { CommandExitError, Sandbox, SandboxNotFoundError, TimeoutError } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { allGone, bwrapInstalled, tempRoot, waitFor } from "./testing/helpers.js";

/** The fields of /proc/<pid>/stat after the command name: [state, ppid, …]. */
function stat(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** Host pids of the sandbox's processes whose command line contains `needle`. */
function hostPidsRunning(host: SandboxHost, sandboxId: string, needle: string): number[] {
  const pids = host.list().find((s) => s.sandboxId === sandboxId)?.pids ?? [];
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").includes(needle);
    } catch {
      return false;
    }
  });
}

describe.runIf(bwrapInstalled())("one pid namespace per sandbox", () => {
  for (const perSandboxUid of [true, false]) {
    describe(perSandboxUid ? "own uids" : "one shared uid", () => {
      let host: SandboxHost;
      let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };
      const create = () => Sandbox.create("lakitu", { ...opts, timeoutMs: 120_000 });

      beforeAll(async () => {
        host = await startSandboxHost({ root: tempRoot(`procs-${perSandboxUid}`), perSandboxUid, warn: () => {} });
        opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
      });
      afterAll(async () => {
        await host?.close();
      });

      it("keeps a daemon running after its command ends, and kills it with the sandbox", async () => {
        const sbx = await create();
        const started = await sbx.commands.run("nohup sleep 302 >/dev/null 2>&1 & echo $!; setsid sleep 303 >/dev/null 2>&1 < /dev/null &");
        const daemonPid = Number(started.stdout.trim());
        expect(daemonPid).toBeGreaterThan(1);
        // The command is over; its children live on in the sandbox, seen from another command.
        expect(await sbx.commands.list()).toEqual([]);
        const seen = await sbx.commands.run(`kill -0 ${daemonPid} && echo alive; ps -eo args= | grep -c '^sleep 30[23]$'`);
        expect(seen.stdout).toBe("alive\n2\n");
        const hostPids = [...hostPidsRunning(host, sbx.sandboxId, "sleep 302"), ...hostPidsRunning(host, sbx.sandboxId, "sleep 303")];
        expect(hostPids).toHaveLength(2); // the host counts them as the sandbox's (limits, kill)
        await sbx.kill();
        expect(allGone(hostPids)).toBe(true);
      });

      it("reports in-sandbox pids: list, kill through the SDK, and /proc inside agree", async () => {
        const sbx = await create();
        const handle = await sbx.commands.run("exec sleep 304", { background: true });
        expect((await sbx.commands.list()).map((p) => p.pid)).toEqual([handle.pid]);
        const hostSide = host.list().find((s) => s.sandboxId === sbx.sandboxId)!.commands;
        expect(hostSide.map((c) => c.pid)).toEqual([handle.pid]);
        // The host spawned nsenter (hostPid); the command is its child, whose innermost pid the SDK got.
        const child = host
          .list()
          .find((s) => s.sandboxId === sbx.sandboxId)!
          .pids.find((pid) => Number(stat(pid)[1]) === hostSide[0]!.hostPid)!;
        expect(/^NSpid:\s+(\d+)\s+(\d+)$/m.exec(readFileSync(`/proc/${child}/status`, "utf8"))?.slice(1).map(Number)).toEqual([child, handle.pid]);
        // The pid names that process inside the sandbox.
        expect((await sbx.commands.run(`tr '\\0' ' ' < /proc/${handle.pid}/cmdline`)).stdout).toBe("sleep 304 ");
        expect(await sbx.commands.kill(handle.pid)).toBe(true);
        await expect(handle.wait()).rejects.toBeInstanceOf(CommandExitError);
        expect(await sbx.commands.list()).toEqual([]);
        await sbx.kill();
      });

      it("gives a command none of the host's handles on the sandbox's namespaces", async () => {
        const sbx = await create();
        const r = await sbx.commands.run("for f in /proc/$$/fd/*; do echo \"${f##*/} $(readlink $f)\"; done", { user: "root" });
        const fds = r.stdout.split("\n").filter(Boolean);
        expect(fds.map((l) => l.split(" ")[0])).toEqual(expect.arrayContaining(["0", "1", "2"]));
        expect(fds.filter((l) => /\b(user|mnt|pid|ipc|uts|cgroup|net):\[/.test(l))).toEqual([]);
        await sbx.kill();
      });

      it("lets one command see (ps) and kill another command's process", async () => {
        const sbx = await create();
        const handle = await sbx.commands.run("exec sleep 305", { background: true });
        const ps = (await sbx.commands.run("ps -eo pid=,args=")).stdout.split("\n").map((l) => l.trim());
        expect(ps).toContain(`${handle.pid} sleep 305`);
        const r = await sbx.commands.run(`kill ${handle.pid} && echo sent`);
        expect(r.stdout).toBe("sent\n");
        const err = (await handle.wait().catch((e: unknown) => e)) as CommandExitError;
        expect(err).toBeInstanceOf(CommandExitError);
        expect(err.exitCode).not.toBe(0);
        await waitFor("the killed command gone from the list", async () => ((await sbx.commands.list()).length === 0 ? true : undefined));
        await sbx.kill();
      });

      it("refuses commands once the sandbox's init is gone (killed from inside by root), until the sandbox is killed", async () => {
        const sbx = await create();
        // pid 2 is the init's `sleep infinity`: without it bwrap's pid 1 exits and the namespace ends.
        await sbx.commands.run("kill -9 2", { user: "root" }).catch(() => undefined);
        await waitFor("the sandbox's processes gone", () => (host.list().find((s) => s.sandboxId === sbx.sandboxId)?.pids.length === 0 ? true : undefined));
        // Connect `unavailable`, which the SDK raises on Start as SandboxNotFoundError.
        await expect(sbx.commands.run("true")).rejects.toBeInstanceOf(SandboxNotFoundError);
        expect(await sbx.isRunning()).toBe(true);
        await sbx.kill();
        expect(await sbx.isRunning()).toBe(false);
      });

      it("ends a command whose sandbox is killed with TimeoutError, as E2B does", async () => {
        const sbx = await create();
        const background = await sbx.commands.run("sleep 306", { background: true, timeoutMs: 0 });
        const foreground = sbx.commands.run("sleep 307", { timeoutMs: 0 }).catch((e: unknown) => e);
        await waitFor("both commands running", async () => ((await sbx.commands.list()).length === 2 ? true : undefined));
        await sbx.kill();
        const errors = [await background.wait().catch((e: unknown) => e), await foreground];
        for (const err of errors) {
          expect(err).toBeInstanceOf(TimeoutError);
          expect(String((err as Error).message)).toContain(`sandbox ${sbx.sandboxId} was killed`);
        }
      });
    });
  }

  it("holds a daemon to the sandbox's limits after its command ended (CPU), and kills it with the sandbox", async () => {
    const host = await startSandboxHost({ root: tempRoot("procs-limits"), limits: { cpuMs: 1_000 }, warn: () => {} });
    try {
      const sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
      await sbx.commands.run("nohup sh -c 'while :; do :; done' >/dev/null 2>&1 &");
      expect(await sbx.commands.list()).toEqual([]);
      const spinner = await waitFor("the daemon", () => hostPidsRunning(host, sbx.sandboxId, "while :; do :; done")[0]);
      const gone = await waitFor(
        "the sandbox killed for its cpu limit",
        async () => {
          const res = await fetch(`${host.url}/sandboxes/${sbx.sandboxId}`, { headers: { "x-api-key": host.apiKey } });
          return res.status === 404 ? ((await res.json()) as { message: string }) : undefined;
        },
        30_000,
      );
      expect(gone.message).toMatch(new RegExp(`^sandbox ${sbx.sandboxId} was killed by the host: cpu limit 1 s exceeded`));
      await waitFor("the daemon killed with its sandbox", () => allGone([spinner]));
    } finally {
      await host.close();
    }
  }, 40_000);

  // Separate users exist only with own uids, i.e. on a host running as root.
  it.runIf(process.getuid?.() === 0)("keeps users apart in the shared namespace: user cannot signal root's process, root can signal user's", async () => {
    const host = await startSandboxHost({ root: tempRoot("procs-users"), warn: () => {} });
    try {
      expect(host.ownUids).toBe(true);
      const sbx = await Sandbox.create("lakitu", { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url });
      const rootCmd = await sbx.commands.run("exec sleep 308", { background: true, user: "root" });
      const userCmd = await sbx.commands.run("exec sleep 309", { background: true });
      const refused = await sbx.commands.run(`kill ${rootCmd.pid} 2>&1 || echo refused`);
      expect(refused.stdout).toMatch(/Operation not permitted[\s\S]*refused\n$/);
      expect((await sbx.commands.list()).map((p) => p.pid)).toContain(rootCmd.pid);
      expect((await sbx.commands.run(`kill ${userCmd.pid} && echo sent`, { user: "root" })).stdout).toBe("sent\n");
      await expect(userCmd.wait()).rejects.toBeInstanceOf(CommandExitError);
      await sbx.kill();
      await expect(rootCmd.wait()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      await host.close();
    }
  });
});
