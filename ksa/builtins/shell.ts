/** `shell`: runs one program with literal arguments (no shell parsing), bounded in time and output. */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { constants } from "node:os";
import { z } from "zod";
import { defineKSA } from "../define.js";
import { confine } from "../paths.js";

export const DEFAULT_SHELL_TIMEOUT_MS = 30_000;
export const MAX_SHELL_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** After a kill, how long to wait for the pipes to close before returning anyway. */
const CLOSE_GRACE_MS = 2_000;

/** Environment names never passed to a command: credentials and the runtime's own settings. */
const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD/i;

export type ShellGroupEvent = { pgid: number; state: "started" | "ended" };
let groupListener: ((e: ShellGroupEvent) => void) | undefined;

/**
 * Reports each command's process group as it starts and ends. A runtime that terminates the worker
 * running agent code (which ends `shell.run`'s own timer) uses it to kill groups still alive:
 * `process.kill(-pgid, "SIGKILL")`. One listener; `undefined` removes it.
 */
export function onShellGroup(listener: ((e: ShellGroupEvent) => void) | undefined): void {
  groupListener = listener;
}

/** The runtime's environment minus anything that looks like a credential and every `LAKITU_*`. */
export function scrubbedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || SECRET_NAME.test(k) || k.startsWith("LAKITU_")) continue;
    out[k] = v;
  }
  return out;
}

export const shell = defineKSA({
  name: "shell",
  description:
    "Runs a program in the workspace, e.g. `shell.run({ command: \"ls\", args: [\"-la\"] })`. Arguments are passed literally (no shell: pipes, `;`, `$VAR` and globs are not interpreted; run `sh` with `args: [\"-c\", \"...\"]` when you need them). Credentials are not in its environment.",
  category: "workspace",
  defaultAllowed: true,
  functions: {
    run: {
      description: `Runs \`command\` with \`args\` in \`cwd\` (a workspace folder, default the root). Stops it (and every process it started) after timeoutMs (default ${DEFAULT_SHELL_TIMEOUT_MS}); keeps at most maxOutputBytes (default ${DEFAULT_MAX_OUTPUT_BYTES}) of stdout and of stderr. exitCode is 128 + signal number when it was killed. Background processes are stopped when it returns.`,
      params: z.strictObject({
        command: z.string().min(1).max(4096),
        args: z.array(z.string().max(100_000)).max(1000).optional(),
        cwd: z.string().max(1024).optional(),
        timeoutMs: z.number().int().min(1).max(MAX_SHELL_TIMEOUT_MS).optional(),
        maxOutputBytes: z.number().int().min(1).max(MAX_OUTPUT_BYTES).optional(),
      }),
      result: z.object({
        exitCode: z.number().int(),
        stdout: z.string(),
        stderr: z.string(),
        truncated: z.boolean(),
        timedOut: z.boolean(),
      }),
      local: async (ctx, p) => {
        const cwd = await confine(ctx.workspace, p.cwd || ".", "cwd");
        const st = await stat(cwd.real).catch(() => null);
        if (!st?.isDirectory()) throw new Error(`cwd "${p.cwd}" is not a folder in the workspace`);
        return run(p.command, p.args ?? [], cwd.real, p.timeoutMs ?? DEFAULT_SHELL_TIMEOUT_MS, p.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
      },
    },
  },
});

type RunResult = { exitCode: number; stdout: string; stderr: string; truncated: boolean; timedOut: boolean };

function run(command: string, args: string[], cwd: string, timeoutMs: number, cap: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // detached: the child leads a new process group, so one kill reaches everything it started.
    const child = spawn(command, args, { cwd, env: scrubbedEnv(), shell: false, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) groupListener?.({ pgid: child.pid, state: "started" });
    const out = capture(cap);
    const err = capture(cap);
    child.stdout.on("data", out.push);
    child.stderr.on("data", err.push);
    let timedOut = false;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let exited: [number | null, NodeJS.Signals | null] = [null, "SIGKILL"];
    child.on("exit", (c, s) => (exited = [c, s]));
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      killGroup();
      if (child.pid !== undefined) groupListener?.({ pgid: child.pid, state: "ended" });
      child.stdout.destroy();
      child.stderr.destroy();
      const exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1);
      resolvePromise({ exitCode, stdout: out.text(), stderr: err.text(), truncated: out.truncated() || err.truncated(), timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
      // A grandchild that escaped the group could hold the pipes open; do not wait for it forever.
      graceTimer = setTimeout(() => finish(...exited), CLOSE_GRACE_MS);
    }, timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      reject(
        e.code === "ENOENT"
          ? new Error(`command not found: "${command}" (it is run directly, not through a shell)`)
          : new Error(`could not start "${command}": ${e.message}`),
      );
    });
    child.on("close", finish);
  });
}

/** Collects up to `cap` bytes and counts the rest, so a chatty command cannot exhaust memory. */
function capture(cap: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  return {
    push: (chunk: Buffer) => {
      total += chunk.length;
      if (kept >= cap) return;
      const part = chunk.length > cap - kept ? chunk.subarray(0, cap - kept) : chunk;
      chunks.push(part);
      kept += part.length;
    },
    truncated: () => total > kept,
    text: () => {
      const s = Buffer.concat(chunks).toString("utf8");
      return total > kept ? `${s}\n[truncated: kept ${kept} of ${total} bytes]` : s;
    },
  };
}
