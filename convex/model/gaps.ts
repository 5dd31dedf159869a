/**
 * Gap markers: a lost stretch of a run's event log is stored as one `gap` event at the first missing
 * seq (data `{ from, to, reason }`), so readers see that events are missing instead of silence.
 *
 * Two sources: the runtime replaces a batch it gave up on with a marker of its own (runtime/reporter.ts),
 * and the component walks the log once the run completes (`events.scanGaps`, a page per transaction),
 * marking every hole below the highest seq it has or the count the completion reported.
 */
import type { Id } from "../component/_generated/dataModel.js";
import type { MutationCtx } from "../component/_generated/server.js";
import { internal } from "../component/_generated/api.js";

export const GAP_KIND = "gap";
/** Events read per scan transaction (each at most maxEventBytes). */
export const GAP_SCAN_PAGE = 200;
/** The scan starts a little after the completion so that a last in-flight batch can land first. */
export const GAP_SCAN_DELAY_MS = 5_000;

export type Gap = { from: number; to: number; reason: string };

export function gapText(g: Gap): string {
  const range = g.from === g.to ? `event ${g.from} was` : `events ${g.from}..${g.to} were`;
  return `${range} lost: ${g.reason}`;
}

/** The last seq a stored gap marker covers (its own seq when its data says nothing usable). */
export function gapEnd(data: string | undefined): number {
  try {
    const to = (JSON.parse(data ?? "null") as { to?: unknown } | null)?.to;
    return typeof to === "number" && Number.isInteger(to) ? to : -1;
  } catch {
    return -1;
  }
}

export async function insertGap(ctx: MutationCtx, runId: Id<"runs">, g: Gap): Promise<void> {
  await ctx.db.insert("events", {
    runId,
    seq: g.from,
    kind: GAP_KIND,
    level: "warn",
    text: gapText(g),
    data: JSON.stringify({ from: g.from, to: g.to, reason: g.reason, by: "component" }),
    ts: Date.now(),
  });
}

export async function scheduleGapScan(ctx: MutationCtx, runId: Id<"runs">, eventCount: number | undefined): Promise<void> {
  await ctx.scheduler.runAfter(GAP_SCAN_DELAY_MS, internal.events.scanGaps, { runId, nextSeq: 0, ...(eventCount === undefined ? {} : { eventCount }) });
}
