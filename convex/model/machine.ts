/**
 * The run state machine and the audit log. Every status change of a run or card goes through here,
 * so the transitions table explains each one and a terminal run is never overwritten.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import {
  TERMINAL_RUN_STATUSES,
  ACTIVE_RUN_STATUSES,
  type CardStatus,
  type RunStatus,
  type TransitionSource,
} from "../shared/validators.js";

/** Allowed next states. Terminal states have none. Mirrored in convex/component/README.md. */
export const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ["provisioning", "failed", "canceled"],
  provisioning: ["running", "failed", "canceled"],
  // A deadline is a budget (maxDurationMs): like steps and cost it ends the agent phase in collecting.
  running: ["collecting", "failed", "canceled"],
  collecting: ["checking", "failed", "canceled"],
  checking: ["succeeded", "failed", "canceled"],
  succeeded: [],
  failed: [],
  canceled: [],
  timed_out: [],
};

export function isTerminal(status: RunStatus): boolean {
  return (TERMINAL_RUN_STATUSES as readonly RunStatus[]).includes(status);
}
export function isActive(status: RunStatus): boolean {
  return (ACTIVE_RUN_STATUSES as readonly RunStatus[]).includes(status);
}

export type TransitionMeta = { source: TransitionSource; reason: string };

/**
 * Moves a run to `to` if the machine allows it from the run's current state.
 * Returns false, writing nothing, when the run is already terminal or already in `to` (a duplicate or
 * late writer); throws on any other illegal move, which would be a bug in Lakitu.
 */
export async function transitionRun(
  ctx: MutationCtx,
  runId: Id<"runs">,
  to: RunStatus,
  meta: TransitionMeta,
  patch: Partial<Doc<"runs">> = {},
): Promise<boolean> {
  const run = await ctx.db.get(runId);
  if (!run) throw new Error(`run ${runId} vanished`);
  if (run.status === to || isTerminal(run.status)) return false;
  if (!RUN_TRANSITIONS[run.status].includes(to)) {
    throw new Error(`illegal run transition ${run.status} -> ${to} (${meta.source}: ${meta.reason})`);
  }
  const now = Date.now();
  await ctx.db.patch(runId, {
    ...patch,
    status: to,
    ...(isTerminal(to) ? { endedAt: now } : {}),
  });
  await ctx.db.insert("transitions", {
    entity: "run",
    cardId: run.cardId,
    runId,
    from: run.status,
    to,
    source: meta.source,
    reason: meta.reason,
  });
  return true;
}

/**
 * What `setCard` changes. A new current run comes with its attempt (`currentAttempt`), so the card's
 * `currentAttempt` is always that of its `currentRunId`; `currentRunId: null` clears both.
 */
export type CardChange = { status: CardStatus; stageId?: Id<"stages">; note?: string } & (
  | { currentRunId?: null; currentAttempt?: never }
  | { currentRunId: Id<"runs">; currentAttempt: number }
);

/** Sets a card's status (and optionally stage and current run), recording the change. No-op if nothing changes. */
export async function setCard(ctx: MutationCtx, card: Doc<"cards">, change: CardChange, meta: TransitionMeta): Promise<void> {
  const stageId = change.stageId ?? card.stageId;
  const cleared = change.currentRunId === null;
  const runId = cleared ? undefined : (change.currentRunId ?? card.currentRunId);
  const attempt = cleared ? undefined : change.currentRunId !== undefined ? change.currentAttempt : card.currentAttempt;
  if (
    card.status === change.status &&
    card.stageId === stageId &&
    card.currentRunId === runId &&
    card.currentAttempt === attempt &&
    change.note === undefined
  ) {
    return;
  }
  await ctx.db.patch(card._id, {
    status: change.status,
    stageId,
    currentRunId: runId,
    currentAttempt: attempt,
    ...(change.note !== undefined ? { note: change.note } : {}),
  });
  const from = card.stageId === stageId ? card.status : `${card.status}@${card.stageId}`;
  const to = card.stageId === stageId ? change.status : `${change.status}@${stageId}`;
  if (from !== to) {
    await ctx.db.insert("transitions", {
      entity: "card",
      cardId: card._id,
      runId,
      from,
      to,
      source: meta.source,
      reason: meta.reason,
    });
  }
}
