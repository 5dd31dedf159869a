/**
 * The sandbox's agent user: the uid agent code runs under, so that it cannot read the runtime's memory,
 * environment or files (the session token lives there). The sandbox names it in `LAKITU_AGENT_USER`
 * (the E2B template and the local host create `lakitu-agent`); the runtime must run as root to switch
 * to it. `resolveAgentUser` says why it cannot when it cannot.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { lchown, readdir } from "node:fs/promises";
import { join } from "node:path";

export type AgentUser = { name: string; uid: number; gid: number };

/** Looks `name` up in `/etc/passwd` (the sandbox's own) and checks the runtime can switch to it. */
export function resolveAgentUser(
  name: string,
  opts: { passwd?: string; uid?: number } = {},
): { ok: true; user: AgentUser } | { ok: false; problem: string } {
  let passwd: string;
  try {
    passwd = opts.passwd ?? readFileSync("/etc/passwd", "utf8");
  } catch (e) {
    return { ok: false, problem: `cannot read /etc/passwd to find the agent user "${name}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const line = passwd.split("\n").find((l) => l.split(":")[0] === name);
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!line || !/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? "")) return { ok: false, problem: `the agent user "${name}" is not in /etc/passwd` };
  const user = { name, uid: Number(uid), gid: Number(gid) };
  const self = opts.uid ?? process.getuid?.();
  if (user.uid === 0) return { ok: false, problem: `the agent user "${name}" is root` };
  if (self !== 0) return { ok: false, problem: `the runtime runs as uid ${self}, not root, so it cannot start agent code as "${name}"` };
  return { ok: true, user };
}

/**
 * SIGKILLs every process of `uid` except `except` (the executor kept for the next step, the prewarmed
 * one): what a step started, even daemons that left its process group, does not outlive the step.
 * Processes that exit meanwhile are fine.
 */
export function killAgentProcesses(uid: number, except: number | readonly number[] = []): number {
  const spared = new Set(typeof except === "number" ? [except] : except);
  let killed = 0;
  for (const pid of processIds()) {
    if (spared.has(pid) || pid === process.pid) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      continue;
    }
    // Uid: real effective saved fs — any of them being the agent's means the agent controls it.
    const ids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (!ids.includes(uid)) continue;
    if (sigkill(pid)) killed++;
  }
  return killed;
}

/**
 * SIGKILLs what `root` started (its process group and its descendants), but not `root` itself: the
 * executor kept for the next step when there is no agent user to sweep. A daemon that left both (a new
 * session whose parent exited) escapes this; only the agent user's sweep reaches it.
 */
export function killDescendants(root: number): number {
  const parents = new Map<number, number>();
  const doomed = new Set<number>();
  for (const pid of processIds()) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parents.set(pid, Number(ppid));
    if (Number(pgrp) === root && pid !== root) doomed.add(pid);
  }
  for (const pid of parents.keys()) {
    for (let p = parents.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parents.get(p), hops++) {
      if (p === root) {
        doomed.add(pid);
        break;
      }
    }
  }
  let killed = 0;
  for (const pid of doomed) if (pid !== process.pid && sigkill(pid)) killed++;
  return killed;
}

function processIds(): number[] {
  try {
    return readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number);
  } catch {
    return [];
  }
}

function sigkill(pid: number): boolean {
  try {
    process.kill(pid, "SIGKILL");
    return true;
  } catch {
    // gone already, or not ours to kill
    return false;
  }
}

/** Gives `dir` and everything under it to the agent user (the runtime creates the output folder and restores files as root). */
export async function chownTree(dir: string, user: AgentUser): Promise<void> {
  await lchown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, user);
    else await lchown(full, user.uid, user.gid);
  }
}

/**
 * `unshare` when this runtime can give the executor a network namespace of its own (only `lo`): as
 * root with CAP_SYS_ADMIN, e.g. in the E2B template's VM. Undefined otherwise — then agent code has
 * the sandbox's network, which on the local host is none (the host gives each sandbox its own).
 */
export function networkIsolation(): string | undefined {
  for (const candidate of ["/usr/bin/unshare", "/bin/unshare"]) {
    const probe = spawnSync(candidate, ["--net", "--", "true"], { stdio: "ignore", timeout: 10_000 });
    if (!probe.error) return probe.status === 0 ? candidate : undefined;
  }
  return undefined;
}
