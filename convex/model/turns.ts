/**
 * Model turns and the money they spend. A turn is reserved before the model is called: its step is
 * counted and its worst case (the input about to be sent plus the whole output allowance, at the
 * model's price) is held against `maxCostUsd`, in the same transaction. Only one turn per run is in
 * flight; a second caller gets `busy`. The actual cost replaces the reservation when the turn settles.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx, QueryCtx } from "../component/_generated/server.js";
import { CONTEXT_TURNS, RESERVE_CHARS_PER_TOKEN } from "../shared/defaults.js";
import { fail } from "../shared/errors.js";
import type { BudgetLimit, Usage } from "../shared/validators.js";
import { costFromPrice, worstCaseUsd, type Price, type TurnTokens } from "../gateway/prices.js";

/** A reservation older than this belongs to a call that died (an action runs 10 minutes at most). */
export const ABANDONED_TURN_MS = 11 * 60_000;
/** Replies longer than this are not kept for replay (documents stay far below 1 MiB). */
export const MAX_REPLAY_CHARS = 200_000;


export const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, steps: 0, sandboxSeconds: 0 };

export type { BudgetLimit };

export async function turnAt(ctx: QueryCtx, runId: Id<"runs">, step: number): Promise<Doc<"turns"> | null> {
  return await ctx.db
    .query("turns")
    .withIndex("by_run_step", (q) => q.eq("runId", runId).eq("step", step))
    .unique();
}

/** Input tokens the next turn may send, estimated high: the system prompt, the thread the model sees, the observation. */
export async function estimateInputTokens(ctx: QueryCtx, cardId: Id<"cards">, systemChars: number, promptChars: number): Promise<number> {
  const recent = await ctx.db.query("turns").withIndex("by_card", (q) => q.eq("cardId", cardId)).order("desc").take(CONTEXT_TURNS);
  const history = recent.reduce((sum, t) => sum + (t.status === "settled" ? t.promptChars + (t.replyChars ?? 0) : 0), 0);
  return Math.ceil((systemChars + history + promptChars) / RESERVE_CHARS_PER_TOKEN);
}

/**
 * The run's turn in flight, if any. A reservation whose call never came back is settled at its
 * worst case (the model may have been paid), which frees the run for the next turn.
 */
export async function turnInFlight(ctx: MutationCtx, run: Doc<"runs">): Promise<Doc<"turns"> | null> {
  const last = await turnAt(ctx, run._id, run.usage.steps - 1);
  if (!last || last.status !== "reserved") return null;
  if (Date.now() - last.reservedAt < ABANDONED_TURN_MS) return last;
  await settleTurn(ctx, run, last, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }, { costUsd: last.reservedUsd, costSource: "unpriced", priceSource: "the call never reported back: its worst case is counted" });
  return null;
}

/** Reserves step `run.usage.steps`: counts the step and holds `reservedUsd`. Returns the turn's id. */
export async function reserveTurn(
  ctx: MutationCtx,
  run: Doc<"runs">,
  t: { model: string; promptChars: number; reservedUsd: number },
  existing: Doc<"turns"> | null,
): Promise<Id<"turns">> {
  const fields = { status: "reserved" as const, model: t.model, reservedUsd: t.reservedUsd, promptChars: t.promptChars, reservedAt: Date.now() };
  const step = run.usage.steps;
  let turnId: Id<"turns">;
  if (existing) {
    // A released turn (its call failed and may be retried) is reserved again.
    await ctx.db.patch(existing._id, fields);
    turnId = existing._id;
  } else {
    turnId = await ctx.db.insert("turns", { runId: run._id, cardId: run.cardId, step, ...fields });
  }
  await ctx.db.patch(run._id, { usage: { ...run.usage, steps: step + 1 } });
  // Only the newest answer is kept for replay.
  const previous = await turnAt(ctx, run._id, step - 1);
  if (previous?.reply !== undefined) await ctx.db.patch(previous._id, { reply: undefined });
  return turnId;
}

/** The worst case a turn may cost, or why the budget refuses it. */
export function reservation(
  run: Doc<"runs">,
  limits: { maxCostUsd?: number; maxOutputTokens: number },
  model: string,
  price: Price | undefined,
  inputTokens: number,
): { reservedUsd: number } | { limit: BudgetLimit; message: string } {
  const reservedUsd = price ? worstCaseUsd(inputTokens, limits.maxOutputTokens, price) : 0;
  if (limits.maxCostUsd === undefined) return { reservedUsd };
  if (!price) return { limit: "maxCostUsd", message: `model "${model}" has no price, so maxCostUsd $${limits.maxCostUsd} cannot be enforced; add it with configure({ prices })` };
  if (run.usage.costUsd + reservedUsd > limits.maxCostUsd) {
    return {
      limit: "maxCostUsd",
      message:
        `the next turn could cost up to $${reservedUsd.toFixed(4)} (${inputTokens} input + ${limits.maxOutputTokens} output tokens of ${model}), ` +
        `which would take the run from $${run.usage.costUsd.toFixed(4)} past its maxCostUsd $${limits.maxCostUsd}`,
    };
  }
  return { reservedUsd };
}

export type Settlement = { costUsd: number; costSource: "provider" | "price" | "unpriced"; priceSource?: string };

/** The turn's cost: the provider's own figure when it gave one, else tokens × price, else unpriced (0). */
export function turnCost(tokens: TurnTokens, providerCostUsd: number | undefined, price: Price | undefined): Settlement {
  if (providerCostUsd !== undefined) return { costUsd: providerCostUsd, costSource: "provider" };
  if (price) return { costUsd: costFromPrice(tokens, price), costSource: "price", priceSource: `${price.source}, ${price.date}` };
  return { costUsd: 0, costSource: "unpriced" };
}

/** Settles a reserved turn with what it actually used, and adds that to the run, card and board totals. */
export async function settleTurn(ctx: MutationCtx, run: Doc<"runs">, turn: Doc<"turns">, tokens: TurnTokens, cost: Settlement, reply?: string): Promise<void> {
  if (turn.status !== "reserved") fail("conflict", `turn ${turn.step} of run ${run._id} is ${turn.status}, not in flight`);
  await ctx.db.patch(turn._id, {
    status: "settled",
    ...tokens,
    ...cost,
    replyChars: reply?.length ?? 0,
    reply: reply !== undefined && reply.length <= MAX_REPLAY_CHARS ? reply : undefined,
    settledAt: Date.now(),
  });
  const add = { ...tokens, costUsd: cost.costUsd, steps: 0 };
  await ctx.db.patch(run._id, { usage: addUsage(run.usage, add) });
  await addToTotals(ctx, run, { ...add, steps: 1 });
}

/** Releases a reserved turn whose call failed in a way that may be retried: the step is given back. */
export async function releaseTurn(ctx: MutationCtx, run: Doc<"runs">, turn: Doc<"turns">): Promise<void> {
  if (turn.status !== "reserved") return;
  await ctx.db.patch(turn._id, { status: "released" });
  if (run.usage.steps === turn.step + 1) await ctx.db.patch(run._id, { usage: { ...run.usage, steps: turn.step } });
}

export function addUsage(a: Usage | undefined, b: Partial<Usage>): Usage {
  const base = a ?? ZERO_USAGE;
  const sum = (k: keyof Usage) => (base[k] ?? 0) + (b[k] ?? 0);
  return {
    inputTokens: sum("inputTokens"),
    outputTokens: sum("outputTokens"),
    cachedInputTokens: sum("cachedInputTokens"),
    costUsd: sum("costUsd"),
    steps: sum("steps"),
    sandboxSeconds: sum("sandboxSeconds"),
  };
}

/** Adds to the card's and the board's totals (what per-card and per-board usage reads). */
export async function addToTotals(ctx: MutationCtx, run: Pick<Doc<"runs">, "cardId" | "boardId">, add: Partial<Usage>): Promise<void> {
  const card = await ctx.db.get(run.cardId);
  if (card) await ctx.db.patch(card._id, { usage: addUsage(card.usage, add) });
  const board = await ctx.db.get(run.boardId);
  if (board) await ctx.db.patch(board._id, { usage: addUsage(board.usage, add) });
}
