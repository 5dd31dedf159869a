/**
 * Authentication and hygiene for calls from the runtime inside a sandbox: bearer tokens bound to a
 * session and generation, activity bookkeeping (redaction: model/secrets.ts).
 */
import type { Doc } from "../component/_generated/dataModel.js";
import type { MutationCtx, QueryCtx } from "../component/_generated/server.js";
import { ACTIVITY_WRITE_DEBOUNCE_MS } from "../shared/defaults.js";
import { fail } from "../shared/errors.js";
import { runningReapAt } from "./sessions.js";
import { constantTimeEqual, sha256Hex, tokenSessionId } from "./tokens.js";

export type RuntimeAuth = { token: string; generation: number };

/**
 * Resolves a token to its live session and run. Unknown, malformed, revoked or mismatched tokens are
 * `unauthorized`; a valid token presented with another generation is `stale`.
 */
export async function authenticate(ctx: QueryCtx, auth: RuntimeAuth): Promise<{ session: Doc<"sessions">; run: Doc<"runs"> }> {
  const claimed = tokenSessionId(auth.token);
  const sessionId = claimed && ctx.db.normalizeId("sessions", claimed);
  const session = sessionId ? await ctx.db.get(sessionId) : null;
  const hash = await sha256Hex(auth.token);
  // Compare even when the session is unknown, so timing does not tell which part was wrong.
  const matches = constantTimeEqual(hash, session?.tokenHash ?? "0".repeat(64));
  if (!session || !matches) {
    fail("unauthorized", session?.revokedAt ? "session token was revoked (the run has ended)" : "invalid session token");
  }
  if (auth.generation !== session.generation) {
    fail("stale", `generation ${auth.generation} is not the session's generation ${session.generation}; this runtime belongs to an older run`);
  }
  const run = (await ctx.db.get(session.runId))!;
  return { session, run };
}

/** Records progress (events, uploads, inbox pulls) for idle reaping; debounced to one write per interval. */
export async function touchActivity(ctx: MutationCtx, session: Doc<"sessions">): Promise<void> {
  const now = Date.now();
  // The debounce must stay well under the idle limit, or a runtime making progress is still reaped as idle.
  const debounceMs = Math.min(ACTIVITY_WRITE_DEBOUNCE_MS, session.idleTimeoutMs / 4);
  if (session.state !== "running" || now - (session.lastActivityAt ?? 0) < debounceMs) return;
  await ctx.db.patch(session._id, { lastActivityAt: now, reapAt: runningReapAt({ ...session, lastActivityAt: now }, now) });
}
