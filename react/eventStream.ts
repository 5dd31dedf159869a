/**
 * The pure half of `useRunEvents`: folds pages of a run's events (any page, in any order, any number of
 * times) into one list in seq order with no duplicate and no hole.
 *
 * A run's log has two seq ranges:
 * - the runtime's, from 0 up (at most 1e9). The runtime sends them in order, and a stretch it lost is
 *   stored as one `gap` event at the first lost seq with `data: { from, to }`; once the run ends the
 *   component marks every remaining hole the same way. So seq `s` is followed by `s + 1`, or by
 *   `to + 1` after a gap marker.
 * - the component's own (budget_exceeded, quota_exceeded, ...), from COMPONENT_EVENT_SEQ_BASE up, one
 *   after the other.
 * An event past a hole is held back until the hole is filled (the live query re-runs when it is), so the
 * list a console shows is always a prefix of the final log.
 */
import { COMPONENT_EVENT_SEQ_BASE } from "../convex/shared/defaults.js";
import type { EventLike } from "./types.js";

/** The kind of the event that stands for a lost stretch of seqs (convex/model/gaps.ts). */
export const GAP_KIND = "gap";
/** The largest `afterSeq` the component's `listEvents` accepts. */
export const MAX_AFTER_SEQ = 1e9;

export type EventStream<E extends EventLike> = {
  /** Which run (and extra args) this stream is for; a page for another key is ignored. */
  readonly key: string;
  /** Runtime events accepted, in seq order, without holes. */
  readonly runtime: readonly E[];
  /** Component events accepted, in seq order, without holes. */
  readonly component: readonly E[];
  /** The runtime seq expected next; undefined until the first runtime event (a run's log may start after 0 once retention trimmed it). */
  readonly next: number | undefined;
  /** The component seq expected next. */
  readonly nextComponent: number;
  /** The hole the stream waits on, if the last page had events past one. */
  readonly missing: { from: number; to: number } | undefined;
  /** The last page applied was the end of the log (nothing past what it returned). */
  readonly caughtUp: boolean;
  /** At least one page was applied. */
  readonly loaded: boolean;
};

export function emptyStream<E extends EventLike>(key: string): EventStream<E> {
  return { key, runtime: [], component: [], next: undefined, nextComponent: COMPONENT_EVENT_SEQ_BASE, missing: undefined, caughtUp: false, loaded: false };
}

/** The `afterSeq` to subscribe with: the last runtime seq held (a gap marker counts up to its `to`). */
export function afterSeqOf(s: EventStream<EventLike>): number | undefined {
  return s.next === undefined ? undefined : Math.min(s.next - 1, MAX_AFTER_SEQ);
}

/**
 * Applies one page of events to the stream. Returns the same object when the page changes nothing,
 * so that a hook can apply a page as often as it sees it.
 */
export function applyPage<E extends EventLike>(s: EventStream<E>, key: string, page: { page: readonly E[]; isDone: boolean }): EventStream<E> {
  if (key !== s.key) return s;
  const sorted = [...page.page].sort((a, b) => a.seq - b.seq);
  let { next, nextComponent } = s;
  const runtime: E[] = [];
  const component: E[] = [];
  let missing: EventStream<E>["missing"];
  for (const e of sorted) {
    if (e.seq >= COMPONENT_EVENT_SEQ_BASE) {
      if (e.seq !== nextComponent) continue; // a duplicate, or past a hole (never left by the component's counter)
      component.push(e);
      nextComponent = e.seq + 1;
      continue;
    }
    if (next !== undefined && e.seq < next) continue; // already held
    if (missing) continue;
    if (next !== undefined && e.seq > next) {
      missing = { from: next, to: e.seq - 1 };
      continue;
    }
    runtime.push(e);
    next = Math.max(e.seq, e.kind === GAP_KIND ? gapTo(e) : -1) + 1;
  }
  // Caught up when the page reached the end of the log with nothing held back: the subscription that
  // follows (after the last seq held) then waits for new events.
  const caughtUp = page.isDone && !missing;
  if (runtime.length === 0 && component.length === 0 && sameHole(missing, s.missing) && caughtUp === s.caughtUp && s.loaded) return s;
  return {
    key,
    runtime: runtime.length ? [...s.runtime, ...runtime] : s.runtime,
    component: component.length ? [...s.component, ...component] : s.component,
    next,
    nextComponent,
    missing,
    caughtUp,
    loaded: true,
  };
}

/** The last seq a gap marker covers (its own seq when its data has no usable `to`). */
function gapTo(e: EventLike): number {
  const to = (e.data as { to?: unknown } | null | undefined)?.to;
  return typeof to === "number" && Number.isInteger(to) && to <= MAX_AFTER_SEQ ? to : e.seq;
}

function sameHole(a: EventStream<EventLike>["missing"], b: EventStream<EventLike>["missing"]): boolean {
  return a === b || (a !== undefined && b !== undefined && a.from === b.from && a.to === b.to);
}
