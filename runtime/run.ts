/**
 * One runtime session from start to report: task → agent loop → uploads → events → `complete`.
 * Process concerns (environment, signals, exit codes) stay in main.ts, so tests can run this in-process.
 */
import { mkdir } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { AgentOutcome, StopReason } from "./agent.js";
import { AbortedError, GiveUpError, LakituClient, LakituHttpError, RunOverError, type RetryPolicy } from "./client.js";
import type { RuntimeEnv } from "./env.js";
import type { AgentUser } from "./agentUser.js";
import type { Executor } from "./executor.js";
import { capText } from "./redact.js";
import { EventReporter, startHeartbeat } from "./reporter.js";
import { socketFetch } from "./socketFetch.js";
import type { Uploader } from "./uploader.js";

/**
 * What the run needs after its task arrived. Loaded then rather than at start: sucrase and zod are most
 * of the bundle, and the first request should not wait for them.
 */
function loadRunModules() {
  return Promise.all([import("./task.js"), import("./agentUser.js"), import("./executor.js"), import("./agent.js"), import("./uploader.js"), import("./restore.js")]).then(
    ([task, agentUser, executor, agent, uploader, restore]) => ({ ...task, ...agentUser, ...executor, ...agent, ...uploader, ...restore }),
  );
}

export type RuntimeOptions = {
  /** Abort to cancel the run (SIGTERM): the runtime stops the step, uploads, reports `canceled`. */
  signal?: AbortSignal;
  /** One line per notable thing, for the sandbox's own log. Never receives the token. */
  log?: (line: string) => void;
  /** See WorkerInit.ksaModule (tests). */
  ksaModule?: string;
  retry?: Partial<RetryPolicy>;
  /** Event batching (tests). */
  flushMs?: number;
  /** Budget for wrapping up after a cancel. Default 2000 ms. */
  cancelBudgetMs?: number;
};

export type RuntimeOutcome = {
  status: "succeeded" | "failed" | "canceled" | "over";
  error?: string;
  /** Whether the component accepted the completion (undefined when none was sent). */
  accepted?: boolean;
  steps: number;
};

/** Modules not needed before the task are loaded this long after asking for it, at the latest. */
const LOAD_AFTER_MS = 25;
/** How long after the deadline the runtime still tries to deliver its final report. */
const REPORT_GRACE_MS = 30_000;

export async function runRuntime(env: RuntimeEnv, opts: RuntimeOptions = {}): Promise<RuntimeOutcome> {
  const log = opts.log ?? (() => {});
  const stop = new AbortController();
  const stopWith = (reason: StopReason) => {
    if (stop.signal.aborted) return;
    log(`stopping: ${reason.message}`);
    stop.abort(reason);
  };
  const onCancel = () => stopWith({ kind: "canceled", message: "the runtime received SIGTERM" });
  if (opts.signal?.aborted) onCancel();
  opts.signal?.addEventListener("abort", onCancel, { once: true });

  const client = new LakituClient({
    url: env.url,
    token: env.token,
    generation: env.generation,
    retry: opts.retry,
    ...(env.componentSocket ? { fetch: socketFetch(env.componentSocket) } : {}),
    ...(env.storageOrigin ? { storageOrigin: env.storageOrigin } : {}),
    onRunOver: (e) => stopWith({ kind: "over", message: e.message }),
  });
  const reporter = new EventReporter(client, { secrets: [env.token], flushMs: opts.flushMs, onError: log });
  const heartbeat = startHeartbeat(client, {
    intervalMs: env.heartbeatMs,
    onStop: (reason) => stopWith({ kind: "over", message: reason }),
    onDeadline: (deadline) => client.setDeadline(deadline),
  });
  let executor: Executor | undefined;

  try {
    const taskRequest = client.task({ signal: stop.signal });
    // Loading them takes the event loop for tens of ms, and the request is connected and written on later
    // turns of the loop: so once the answer is here, or LOAD_AFTER_MS after asking if it is slow (then
    // the load overlaps the wait for it).
    let timer: NodeJS.Timeout | undefined;
    const modules = Promise.race([taskRequest, new Promise((r) => (timer = setTimeout(r, LOAD_AFTER_MS)))])
      .finally(() => clearTimeout(timer))
      .then(loadRunModules);
    modules.catch(() => {});
    let raw: unknown;
    try {
      raw = (await taskRequest).task;
    } catch (e) {
      const outcome = earlyOutcome(e, stop.signal);
      log(`could not get the task: ${outcome.error}`);
      if (outcome.status === "over") return outcome;
      reporter.emit("status", `could not get the task: ${outcome.error}`, { level: "error" });
      return await finish(client, reporter, undefined, outcome, opts, log);
    }
    const { parseTask, resolveAgentUser, networkIsolation, restoreFiles, chownTree, Uploader, Executor, runAgent } = await modules;
    const parsed = parseTask(raw);
    if (!parsed.ok) {
      log(parsed.message);
      reporter.emit("status", parsed.message, { level: "error" });
      return await finish(client, reporter, undefined, { status: "failed", error: parsed.message, steps: 0 }, opts, log);
    }
    const task = parsed.task;
    // Agent code runs as the sandbox's agent user when it names one; if that is impossible the run
    // fails rather than running agent code next to the token.
    let agentUser: AgentUser | undefined;
    let unshare: string | undefined;
    if (env.agentUser) {
      const found = resolveAgentUser(env.agentUser);
      if (!found.ok) {
        const message = `containment unavailable: ${found.problem}`;
        log(message);
        reporter.emit("status", message, { level: "error", data: { code: "containment_unavailable" } });
        return await finish(client, reporter, undefined, { status: "failed", error: message, steps: 0 }, opts, log);
      }
      agentUser = found.user;
      unshare = networkIsolation();
      reporter.emit("status", `agent code runs as ${agentUser.name} (uid ${agentUser.uid}) ${unshare ? "without network" : "with the sandbox's network"}`, {
        data: { agentUser: agentUser.name, executorNetwork: unshare ? "none" : "sandbox" },
      });
    } else {
      reporter.emit("status", "agent code runs under the runtime's own uid: this sandbox names no agent user (LAKITU_AGENT_USER)", { level: "warn" });
    }
    if (task.runId !== env.runId) log(`warning: the task is for run ${task.runId}, LAKITU_RUN_ID says ${env.runId}`);
    client.setDeadline(task.limits.deadline);

    const outputDir = resolve(env.workspace, task.outputDir);
    const rel = relative(env.workspace, outputDir);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      const outcome: AgentOutcome = { status: "failed", error: `the task's outputDir "${task.outputDir}" is outside the workspace`, steps: 0 };
      return await finish(client, reporter, undefined, outcome, opts, log);
    }
    await mkdir(outputDir, { recursive: true });
    if (task.restore.length) {
      const restored = await restoreFiles(client, outputDir, task.restore, {
        signal: stop.signal,
        warn: (message) => reporter.emit("status", message, { level: "warn" }),
      });
      reporter.emit("status", `resumed: restored ${restored.length} of ${task.restore.length} file(s) of the paused run`, { data: { restored } });
    }
    if (agentUser) await chownTree(outputDir, agentUser);

    reporter.emit("status", "started", {
      data: { runId: task.runId, attempt: task.attempt, stage: task.stage.name, maxSteps: task.limits.maxSteps, deadline: task.limits.deadline },
    });
    const uploader = new Uploader(client, outputDir, {
      declaredTypes: new Map(task.stage.deliverables.map((d) => [d.name, d.type])),
      secrets: [env.token],
      onEvent: (kind, text, data) => reporter.emit(kind, text, { level: kind === "error" ? "warn" : "info", data }),
    });
    executor = new Executor({
      workspace: env.workspace,
      outputDir,
      allowedKsas: task.stage.allowedKsas,
      stageName: task.stage.name,
      stepTimeoutMs: env.stepTimeoutMs,
      maxOutputBytes: env.maxOutputBytes,
      secrets: [env.token],
      ksaModule: opts.ksaModule,
      agentUser,
      unshare,
      gateway: async (ksa, fn, args, signal) =>
        (await client.ksa(ksa, fn, args, { signal, giveUpAt: Math.min(client.getDeadline(), Date.now() + env.stepTimeoutMs) })).result,
      onWarning: (message) => reporter.emit("status", message, { level: "warn" }),
    });
    // Stop a running step the moment the run stops being ours or is canceled.
    stop.signal.addEventListener("abort", () => executor?.stopCurrent(), { once: true });

    const background = new AbortController();
    let uploading: Promise<unknown> = Promise.resolve();
    stop.signal.addEventListener("abort", () => background.abort(), { once: true });
    const outcome = await runAgent({
      client,
      reporter,
      executor,
      task,
      outputDir,
      signal: stop.signal,
      // The component takes observations up to 256 KiB.
      maxObservationBytes: Math.min(env.maxOutputBytes + 8 * 1024, 200 * 1024),
      afterStep: () => {
        uploading = uploader.sync({ signal: background.signal }).catch((e) => log(`background upload: ${(e as Error).message}`));
      },
      // A step's files are stored before the next turn is asked for: if that turn is refused (a
      // budget reached), what the agent made so far is already what QA will check.
      beforeTurn: () => uploading,
    }).catch((e: unknown): AgentOutcome => {
      // A bug of ours still ends in a report, not a silent sandbox.
      log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
      return { status: "failed", error: `runtime internal error: ${(e as Error)?.message ?? String(e)}`, steps: 0 };
    });
    background.abort();
    await executor.close();
    return await finish(client, reporter, uploader, outcome, opts, log);
  } finally {
    heartbeat.stop();
    opts.signal?.removeEventListener("abort", onCancel);
    await executor?.close();
  }
}

function earlyOutcome(e: unknown, signal: AbortSignal): Exclude<AgentOutcome, { status: "succeeded" }> {
  if (e instanceof AbortedError || signal.aborted) {
    const r = signal.reason as StopReason | undefined;
    return { status: r?.kind === "over" ? "over" : "canceled", error: r?.message ?? "stopped", steps: 0 };
  }
  if (e instanceof RunOverError) return { status: "over", error: e.message, steps: 0 };
  if (e instanceof GiveUpError || e instanceof LakituHttpError) return { status: "failed", error: e.message, steps: 0 };
  throw e;
}

/** Uploads, last events, `complete`. Bounded: a cancel wraps up within `cancelBudgetMs`. */
async function finish(
  client: LakituClient,
  reporter: EventReporter,
  uploader: Uploader | undefined,
  outcome: AgentOutcome,
  opts: RuntimeOptions,
  log: (line: string) => void,
): Promise<RuntimeOutcome> {
  const error = "error" in outcome ? outcome.error : undefined;
  if (outcome.status === "over") {
    // The token is revoked or the run ended elsewhere: nothing we send would be accepted.
    log(`the run is over for this runtime: ${error}`);
    await reporter.flush(500);
    reporter.stop();
    return { status: "over", error, steps: outcome.steps };
  }
  const budget = outcome.status === "canceled" ? (opts.cancelBudgetMs ?? 2_000) : undefined;
  const start = Date.now();
  const giveUpAt = (share: number) =>
    budget === undefined ? Math.max(client.getDeadline(), Date.now()) + REPORT_GRACE_MS : start + budget * share;

  if (uploader) {
    try {
      await uploader.sync({ giveUpAt: giveUpAt(0.5) });
    } catch (e) {
      if (e instanceof RunOverError) return { status: "over", error: e.message, steps: outcome.steps };
      reporter.emit("error", `uploading the output folder failed: ${(e as Error).message}`, { level: "error" });
    }
  }
  reporter.emit("status", `finished: ${outcome.status}${error ? ` (${capText(error, 500)})` : ""}`, {
    level: outcome.status === "succeeded" ? "info" : "warn",
    data: { status: outcome.status, steps: outcome.steps, error },
  });
  // Events first: a terminal completion revokes the token, and events after it would be refused.
  await reporter.flush(budget === undefined ? undefined : Math.max(0, giveUpAt(0.75) - Date.now()));
  try {
    const r = await client.complete(
      {
        status: outcome.status,
        ...(outcome.status === "succeeded" ? { summary: outcome.summary } : { error }),
        manifest: uploader?.manifest() ?? [],
        eventCount: reporter.seq,
      },
      { giveUpAt: giveUpAt(1) },
    );
    log(`completed: ${outcome.status}${r.accepted ? "" : " (not accepted: the run had already ended)"}`);
    return { status: outcome.status, error, accepted: r.accepted, steps: outcome.steps };
  } catch (e) {
    if (e instanceof RunOverError) return { status: "over", error: e.message, steps: outcome.steps };
    log(`could not report completion: ${(e as Error).message}`);
    return { status: outcome.status, error, steps: outcome.steps };
  }
}
