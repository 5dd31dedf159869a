/**
 * Talking to the sandbox provider: the app-owned action reached through the run's function handle.
 * Tokens are minted here (actions may use real randomness) and only their hash is written.
 */
import { addToTotals } from "../model/turns.js";
import { v } from "convex/values";
import type { FunctionHandle } from "convex/server";
import { internalAction, internalMutation, internalQuery, type ActionCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import { KILL_MAX_TRIES, SANDBOX_TIMEOUT_SLACK_MS } from "../shared/defaults.js";
import type { ProviderRequest, ProviderResult } from "../shared/validators.js";
import { getConfig, stageLimits } from "../model/config.js";
import { settingsOf } from "../model/settings.js";
import { transitionRun } from "../model/machine.js";
import { armWatchdog, requestKill, runningReapAt } from "../model/sessions.js";
import { mintToken, sha256Hex } from "../model/tokens.js";
import { componentRedactor } from "../model/secrets.js";
import { capText } from "../shared/text.js";

type ProviderHandle = FunctionHandle<"action", { request: ProviderRequest }, ProviderResult>;

/** Calls the provider; a provider action that throws is reported as a retryable internal error. */
export async function callProvider(ctx: ActionCtx, handle: string, request: ProviderRequest): Promise<ProviderResult> {
  try {
    return await ctx.runAction(handle as ProviderHandle, { request });
  } catch (e) {
    return { ok: false, error: { code: "internal", message: `provider action threw: ${e instanceof Error ? e.message : String(e)}`, retryable: true } };
  }
}

/** How often the runtime heartbeats: a quarter of the timeout (15 s for the default 60 s). */
function heartbeatIntervalMs(heartbeatTimeoutMs: number): number {
  return Math.max(100, Math.floor(heartbeatTimeoutMs / 4));
}

/** Metadata every sandbox carries, so ownership can be proven and orphans found. */
export function sessionMetadata(sessionId: string, runId: string, cardId: string) {
  return { "lakitu.session": sessionId, "lakitu.run": runId, "lakitu.card": cardId };
}

/** The origin of this deployment's storage upload URLs (from a minted URL, which is then unused). */
async function storageOrigin(ctx: { storage: { generateUploadUrl(): Promise<string> } }): Promise<{ LAKITU_STORAGE_ORIGIN?: string }> {
  try {
    const url = await ctx.storage.generateUploadUrl();
    return URL.canParse(url) ? { LAKITU_STORAGE_ORIGIN: new URL(url).origin } : {};
  } catch {
    return {};
  }
}

export const provision = internalAction({
  args: { runId: v.id("runs") },
  returns: v.object({ awaitAgent: v.boolean() }),
  handler: async (ctx, { runId }): Promise<{ awaitAgent: boolean }> => {
    const prep = await ctx.runQuery(internal.sessions.prepareInfo, { runId });
    // Nothing to provision. If an earlier try of this step recorded the sandbox (its answer was lost),
    // the agent is working: the workflow must still wait for the end of the agent phase.
    if (!prep) return { awaitAgent: await ctx.runQuery(internal.sessions.agentPhaseBegun, { runId }) };
    const token = mintToken(prep.sessionId);
    const armed = await ctx.runMutation(internal.sessions.setTokenHash, { sessionId: prep.sessionId, tokenHash: await sha256Hex(token) });
    if (!armed) return { awaitAgent: await ctx.runQuery(internal.sessions.agentPhaseBegun, { runId }) };
    const result = await callProvider(ctx, prep.providerHandle, {
      op: "create",
      sessionId: prep.sessionId,
      template: prep.template,
      metadata: sessionMetadata(prep.sessionId, runId, prep.cardId),
      envs: {
        LAKITU_URL: prep.callbackUrl,
        LAKITU_TOKEN: token,
        LAKITU_RUN_ID: runId,
        LAKITU_SESSION_ID: prep.sessionId,
        LAKITU_GENERATION: String(prep.generation),
        // The runtime must beat well within the session's heartbeat timeout, whatever it is configured to.
        LAKITU_HEARTBEAT_MS: String(prep.heartbeatIntervalMs),
        // Where upload URLs point: the provider lets the sandbox reach it, so big files skip the route.
        ...(await storageOrigin(ctx)),
      },
      timeoutMs: prep.timeoutMs,
    });
    if (!result.ok) {
      const { code, message, retryable } = result.error;
      // Thrown errors are retried by the workflow step with backoff; the last one lands in provisionFailed.
      if (retryable) throw new Error(`provider ${code}: ${message}`);
      await ctx.runMutation(internal.sessions.provisionFailed, { runId, message: `provider ${code}: ${message}` });
      return { awaitAgent: false };
    }
    if (result.op !== "create") throw new Error(`provider answered ${result.op} to create`);
    return await ctx.runMutation(internal.sessions.started, { sessionId: prep.sessionId, sandboxId: result.sandboxId });
  },
});

export const prepareInfo = internalQuery({
  args: { runId: v.id("runs") },
  returns: v.union(
    v.null(),
    v.object({
      sessionId: v.id("sessions"),
      cardId: v.id("cards"),
      providerHandle: v.string(),
      callbackUrl: v.string(),
      generation: v.number(),
      template: v.optional(v.string()),
      timeoutMs: v.number(),
      heartbeatIntervalMs: v.number(),
    }),
  ),
  handler: async (ctx, { runId }) => {
    const run = await ctx.db.get(runId);
    if (!run || run.status !== "provisioning" || !run.sessionId) return null;
    const session = await ctx.db.get(run.sessionId);
    if (!session || (session.state !== "intended" && session.state !== "starting")) return null;
    const settings = await settingsOf(ctx, run);
    const config = await getConfig(ctx);
    const maxDurationMs = settings ? stageLimits(settings, config, run).maxDurationMs : config.defaultMaxDurationMs;
    return {
      sessionId: session._id,
      cardId: run.cardId,
      providerHandle: run.providerHandle,
      callbackUrl: run.callbackUrl,
      generation: run.generation,
      template: run.template && run.templateVersion ? `${run.template}:${run.templateVersion}` : run.template,
      timeoutMs: maxDurationMs + SANDBOX_TIMEOUT_SLACK_MS,
      heartbeatIntervalMs: heartbeatIntervalMs(session.heartbeatTimeoutMs),
    };
  },
});

/** Whether the run entered its agent phase: someone (runtime, watchdog, reaper) will send the agent-done event. */
export const agentPhaseBegun = internalQuery({
  args: { runId: v.id("runs") },
  returns: v.boolean(),
  handler: async (ctx, { runId }) => {
    const run = await ctx.db.get(runId);
    return run !== null && (run.agentDoneSent === true || run.status === "running");
  },
});

/** Stores the hash of a freshly minted token (replacing one from an earlier provision try). */
export const setTokenHash = internalMutation({
  args: { sessionId: v.id("sessions"), tokenHash: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { sessionId, tokenHash }) => {
    const s = await ctx.db.get(sessionId);
    if (!s || (s.state !== "intended" && s.state !== "starting")) return false;
    await ctx.db.patch(sessionId, { tokenHash, state: "starting" });
    return true;
  },
});

/**
 * The provider created the sandbox. If the run is still provisioning it becomes running and the watchdog
 * is armed; if the run ended meanwhile (cancel, reaper) the new sandbox is killed at once.
 */
export const started = internalMutation({
  args: { sessionId: v.id("sessions"), sandboxId: v.string() },
  returns: v.object({ awaitAgent: v.boolean() }),
  handler: async (ctx, { sessionId, sandboxId }) => {
    const s = (await ctx.db.get(sessionId))!;
    const run = (await ctx.db.get(s.runId))!;
    if (s.state === "ended") {
      // Too late to record (the reaper already ended the session): kill the sandbox we were just given.
      await ctx.db.patch(sessionId, { sandboxId: s.sandboxId ?? sandboxId });
      await ctx.scheduler.runAfter(0, internal.sessions.killLate, { providerHandle: s.providerHandle, sandboxId, attempt: 1 });
      return { awaitAgent: run.agentDoneSent === true };
    }
    await ctx.db.patch(sessionId, { sandboxId });
    const fresh = (await ctx.db.get(sessionId))!;
    if (run.status !== "provisioning" || s.state !== "starting") {
      await requestKill(ctx, fresh, "run_ended_before_start");
      return { awaitAgent: run.agentDoneSent === true };
    }
    const settings = await settingsOf(ctx, run);
    const config = await getConfig(ctx);
    const maxDurationMs = settings ? stageLimits(settings, config, run).maxDurationMs : config.defaultMaxDurationMs;
    const now = Date.now();
    const deadline = now + maxDurationMs;
    await ctx.db.patch(sessionId, {
      state: "running",
      startedAt: now,
      heartbeatAt: now,
      lastActivityAt: now,
      deadline,
      reapAt: runningReapAt({ lastActivityAt: now, idleTimeoutMs: s.idleTimeoutMs, deadline }, now),
    });
    await transitionRun(ctx, run._id, "running", { source: "workflow", reason: `sandbox ${sandboxId} started` }, { startedAt: now, deadline });
    await armWatchdog(ctx, (await ctx.db.get(sessionId))!);
    return { awaitAgent: true };
  },
});

/** Kills a sandbox that started after its session had already ended. */
export const killLate = internalAction({
  args: { providerHandle: v.string(), sandboxId: v.string(), attempt: v.number() },
  returns: v.null(),
  handler: async (ctx, args) => {
    const r = await callProvider(ctx, args.providerHandle, { op: "kill", sandboxId: args.sandboxId });
    if (!r.ok && r.error.code !== "not_found" && args.attempt < KILL_MAX_TRIES) {
      await ctx.scheduler.runAfter(1000 * 2 ** args.attempt, internal.sessions.killLate, { ...args, attempt: args.attempt + 1 });
    }
    return null;
  },
});

/** The provider refused or kept failing: the run fails (and may be retried by settle). */
export const provisionFailed = internalMutation({
  args: { runId: v.id("runs"), message: v.string() },
  returns: v.null(),
  handler: async (ctx, args) => {
    const { runId } = args;
    // Provider errors are stored scrubbed and short: a provider may echo a key in its message.
    const message = capText(componentRedactor(await getConfig(ctx)).text(args.message), 500);
    const run = (await ctx.db.get(runId))!;
    const changed = await transitionRun(ctx, runId, "failed", { source: "workflow", reason: `provision failed: ${message}` }, {
      error: { code: "provider_failed", message },
    });
    if (!changed) return null;
    const session = run.sessionId ? await ctx.db.get(run.sessionId) : null;
    if (session) await requestKill(ctx, session, "provider_failed");
    const card = (await ctx.db.get(run.cardId))!;
    if (card.currentRunId === runId) await ctx.db.patch(card._id, { note: `provision failed: ${message}` });
    return null;
  },
});

/**
 * Kills a session's sandbox, and every other sandbox carrying the session's metadata: without a recorded
 * sandbox id (a crash between create and record) that is the only way to find it, and a provision try
 * whose create answer was lost leaves a sandbox the recorded id does not name. Retries with backoff;
 * after the last try the reaper takes over.
 */
export const kill = internalAction({
  args: { sessionId: v.id("sessions"), attempt: v.number() },
  returns: v.null(),
  handler: async (ctx, { sessionId, attempt }) => {
    const s = await ctx.runQuery(internal.sessions.killInfo, { sessionId });
    if (!s) return null;
    let ids = s.sandboxId ? [s.sandboxId] : [];
    let failure: string | null = null;
    const listed = await callProvider(ctx, s.providerHandle, { op: "list", metadata: { "lakitu.session": sessionId } });
    if (listed.ok && listed.op === "list") ids = [...new Set([...ids, ...listed.sandboxes.map((x) => x.sandboxId)])];
    // With a recorded id the list is best effort (strays still end at the provider's own timeout).
    else if (!listed.ok && !s.sandboxId) failure = `${listed.error.code}: ${listed.error.message}`;
    for (const sandboxId of ids) {
      const r = await callProvider(ctx, s.providerHandle, { op: "kill", sandboxId });
      if (!r.ok && r.error.code !== "not_found") failure = `${r.error.code}: ${r.error.message}`;
    }
    if (failure === null) {
      await ctx.runMutation(internal.sessions.markEnded, { sessionId, killed: ids });
    } else if (attempt < KILL_MAX_TRIES) {
      await ctx.scheduler.runAfter(1000 * 2 ** attempt, internal.sessions.kill, { sessionId, attempt: attempt + 1 });
    } else {
      console.warn(JSON.stringify({ lakitu: "kill_failed", sessionId, attempt, failure }));
    }
    return null;
  },
});

export const killInfo = internalQuery({
  args: { sessionId: v.id("sessions") },
  returns: v.union(v.null(), v.object({ sandboxId: v.optional(v.string()), providerHandle: v.string() })),
  handler: async (ctx, { sessionId }) => {
    const s = await ctx.db.get(sessionId);
    if (!s || s.state === "ended") return null;
    return { sandboxId: s.sandboxId, providerHandle: s.providerHandle };
  },
});

export const markEnded = internalMutation({
  args: { sessionId: v.id("sessions"), killed: v.array(v.string()) },
  returns: v.null(),
  handler: async (ctx, { sessionId, killed }) => {
    const s = await ctx.db.get(sessionId);
    if (!s || s.state === "ended") return null;
    if (s.sandboxId !== undefined && !killed.includes(s.sandboxId)) {
      // The sandbox was recorded after this kill looked for it (create returned late): kill again, by id.
      await ctx.scheduler.runAfter(0, internal.sessions.kill, { sessionId, attempt: 1 });
      return null;
    }
    const now = Date.now();
    // Sandbox time counts from the recorded start to the confirmed kill (per card and board).
    if (s.startedAt !== undefined) {
      const run = await ctx.db.get(s.runId);
      if (run) await addToTotals(ctx, run, { sandboxSeconds: Math.max(0, now - s.startedAt) / 1000 });
    }
    await ctx.db.patch(sessionId, {
      state: "ended",
      endedAt: now,
      reapAt: undefined,
      tokenHash: undefined,
      revokedAt: s.revokedAt ?? Date.now(),
      sandboxId: s.sandboxId ?? killed[0],
    });
    return null;
  },
});
