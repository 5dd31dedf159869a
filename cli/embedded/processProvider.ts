/**
 * A provider without sandboxes, for the benchmark's floor only: `create` starts the same runtime bundle
 * (`node runtime/dist/main.js`) as a plain child process of this process, in a directory of its own,
 * calling the deployment's loopback URL directly. No sandbox host, no E2B SDK, no bubblewrap, no
 * namespaces, no agent user (agent code runs under this process's uid): everything the sandboxed path
 * adds is gone, and the runtime, the component, the workflow and the model are the same.
 *
 * It isolates nothing, so nothing but the benchmark may register it. State lives on globalThis so the
 * bench and the module convex-test loads share it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { internalActionGeneric } from "convex/server";
import { providerArgs, vProviderResult, type ProviderRequest, type ProviderResult } from "../../convex/shared/validators.js";

type Started = { child: ChildProcess; dir: string; metadata: Record<string, string>; exited: boolean };
type State = { runtimeMain?: string; root?: string; next: number; processes: Map<string, Started> };

const g = globalThis as { __lakituProcessProvider?: State };
const state = (): State => (g.__lakituProcessProvider ??= { next: 1, processes: new Map() });

/**
 * Where the runtime bundle's main.js is; call before a run starts. Returns the unix socket path the
 * deployment should also listen on (`startEmbeddedDeployment({ socketPath })`): the runtimes reach it
 * there (`LAKITU_COMPONENT_SOCKET`), with the transport a sandboxed runtime uses but without the
 * sandbox host's bridge in between.
 */
export function configureProcessProvider(options: { runtimeMain: string }): { componentSocket: string } {
  const s = state();
  s.runtimeMain = options.runtimeMain;
  s.root ??= mkdtempSync(join(tmpdir(), "lakitu-plain-"));
  return { componentSocket: join(s.root, "component.sock") };
}

/** Runtimes still running (the benchmark waits for them to exit before reading their CPU time). */
export function liveProcesses(): number {
  return [...state().processes.values()].filter((p) => !p.exited).length;
}

/** Kills what is left and removes the runtimes' directories. */
export async function closeProcessProvider(): Promise<void> {
  const s = state();
  for (const p of s.processes.values()) if (!p.exited) killGroup(p.child);
  for (const p of s.processes.values()) if (!p.exited) await new Promise((r) => p.child.once("exit", r));
  if (s.root) rmSync(s.root, { recursive: true, force: true });
  g.__lakituProcessProvider = undefined;
}

/** The runtime and what it started (its executors share its process group). */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** One provider request (the action's handler; exported for its test). */
export function handleProcessRequest(req: ProviderRequest): ProviderResult {
  const s = state();
  switch (req.op) {
    case "create": {
      if (!s.runtimeMain || !s.root) throw new Error("process provider used before configureProcessProvider()");
      const sandboxId = `plain-${s.next++}`;
      const dir = join(s.root, sandboxId);
      const workspace = join(dir, "workspace");
      mkdirSync(workspace, { recursive: true });
      // As the E2B provider does: the token in a file the runtime reads and deletes, not in its
      // environment. Files go through the component's route, as from a sandbox (a runtime with a
      // component socket ignores LAKITU_STORAGE_ORIGIN; convex-test's upload URLs lead nowhere anyway).
      const { LAKITU_TOKEN: token, LAKITU_STORAGE_ORIGIN: _storage, ...envs } = req.envs;
      const tokenFile = join(dir, "session-token");
      if (token) writeFileSync(tokenFile, token, { mode: 0o600 });
      let log: number;
      const child = spawn(process.execPath, [s.runtimeMain], {
        cwd: workspace,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...envs, LAKITU_COMPONENT_SOCKET: join(s.root, "component.sock"), ...(token ? { LAKITU_TOKEN_FILE: tokenFile } : {}) },
        // The runtime's log (it redacts the token) beside its workspace, for a failed benchmark run.
        stdio: ["ignore", "ignore", (log = openSync(join(dir, "runtime.log"), "w"))],
        // A session of its own, as a sandbox's processes get (bubblewrap's --new-session): the same
        // process group to kill, and the same CPU scheduling (Linux's autogroups are per session, so
        // runtimes sharing this process's session would share one group's CPU share on a busy machine).
        detached: true,
      });
      closeSync(log);
      const started: Started = { child, dir, metadata: req.metadata, exited: false };
      child.once("exit", () => (started.exited = true));
      child.once("error", () => (started.exited = true));
      s.processes.set(sandboxId, started);
      return { ok: true, op: "create", sandboxId };
    }
    case "kill": {
      const p = s.processes.get(req.sandboxId);
      if (!p) return { ok: false, error: { code: "not_found", message: `process sandbox ${req.sandboxId} not found`, retryable: false } };
      const killed = !p.exited;
      if (killed) killGroup(p.child);
      return { ok: true, op: "kill", killed };
    }
    case "status":
      return { ok: true, op: "status", state: s.processes.get(req.sandboxId)?.exited === false ? "running" : "gone" };
    case "extend":
      return { ok: true, op: "extend" };
    case "list": {
      const match = (m: Record<string, string>) => Object.entries(req.metadata).every(([k, v]) => m[k] === v);
      const sandboxes = [...s.processes.entries()].filter(([, p]) => !p.exited && match(p.metadata)).map(([sandboxId, p]) => ({ sandboxId, metadata: p.metadata }));
      return { ok: true, op: "list", sandboxes };
    }
  }
}

export const provider = internalActionGeneric({
  args: providerArgs,
  returns: vProviderResult,
  handler: async (_ctx, { request }) => handleProcessRequest(request),
});
