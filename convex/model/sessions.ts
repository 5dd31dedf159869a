/**
 * Session lifecycle helpers used by every transition source: the watchdog, the reaper, cancel and the
 * workflow's teardown. Killing is asynchronous (a scheduled action) and idempotent; a kill the provider
 * never confirms is retried by the reaper, because `requestKill` leaves a `reapAt` behind.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import { internal } from "../component/_generated/api.js";
import { KILL_RETRY_MS } from "../shared/defaults.js";

export const LIVE_SESSION_STATES = ["intended", "starting", "running", "ending"] as const;

/** When the reaper should look at a running session: idle limit or deadline, whichever is first. */
export function runningReapAt(s: Pick<Doc<"sessions">, "lastActivityAt" | "idleTimeoutMs" | "deadline">, now: number) {
  const idleAt = (s.lastActivityAt ?? now) + s.idleTimeoutMs;
  return s.deadline !== undefined ? Math.min(idleAt, s.deadline) : idleAt;
}

/** When the watchdog must look at a session: its heartbeat timeout from the last beat, or its deadline. */
export function watchdogDueAt(s: Pick<Doc<"sessions">, "heartbeatAt" | "startedAt" | "heartbeatTimeoutMs" | "deadline">): number {
  const heartbeatDue = (s.heartbeatAt ?? s.startedAt ?? Date.now()) + s.heartbeatTimeoutMs;
  return Math.min(heartbeatDue, s.deadline ?? heartbeatDue);
}

/** Schedules the watchdog for the session's next due time, replacing the one armed before. */
export async function armWatchdog(ctx: MutationCtx, session: Doc<"sessions">): Promise<void> {
  const dueAt = watchdogDueAt(session);
  if (session.watchdogId) await cancelScheduled(ctx, session.watchdogId);
  const watchdogId = await ctx.scheduler.runAt(dueAt, internal.watchdog.fire, { sessionId: session._id });
  await ctx.db.patch(session._id, { watchdogId });
}

async function cancelScheduled(ctx: MutationCtx, id: Id<"_scheduled_functions">) {
  const job = await ctx.db.system.get(id);
  if (job && job.state.kind === "pending") await ctx.scheduler.cancel(id);
}

/** Revokes the session's token. Every later call with it is refused. */
export async function revokeToken(ctx: MutationCtx, session: Doc<"sessions">): Promise<void> {
  if (session.tokenHash !== undefined) await ctx.db.patch(session._id, { tokenHash: undefined, revokedAt: Date.now() });
}

/**
 * Ends a session: revokes its token, disarms the watchdog and schedules the provider kill.
 * Idempotent; the first reason given is the one kept.
 */
export async function requestKill(ctx: MutationCtx, session: Doc<"sessions">, reason: string): Promise<void> {
  if (session.state === "ended") return;
  await revokeToken(ctx, session);
  if (session.watchdogId) await cancelScheduled(ctx, session.watchdogId);
  const alreadyEnding = session.state === "ending";
  // A kill asked for again (the woken workflow's last step after a cancel) neither starts a second round
  // of tries nor postpones the reaper's retry of the first.
  await ctx.db.patch(session._id, {
    state: "ending",
    endReason: session.endReason ?? reason,
    watchdogId: undefined,
    reapAt: alreadyEnding && session.reapAt !== undefined ? session.reapAt : Date.now() + KILL_RETRY_MS,
  });
  if (!alreadyEnding) await ctx.scheduler.runAfter(0, internal.sessions.kill, { sessionId: session._id, attempt: 1 });
}

export async function sessionOfRun(ctx: MutationCtx, run: Doc<"runs">): Promise<Doc<"sessions"> | null> {
  return run.sessionId ? await ctx.db.get(run.sessionId) : null;
}
