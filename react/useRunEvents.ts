"use client";
import { useQuery } from "convex/react";
import type { FunctionArgs } from "convex/server";
import { convexToJson, type Value } from "convex/values";
import { useEffect, useMemo, useState } from "react";
import { afterSeqOf, applyPage, emptyStream, type EventStream } from "./eventStream.js";
import type { EventLike, EventsQuery, HookArgs, PageItem, WrongQuery } from "./types.js";

export type UseRunEventsOptions = {
  /** Events asked for per page (1–1000). Default 200. */
  pageSize?: number;
};

export type RunEventsStatus =
  /** No page has arrived yet (or `args` is "skip"). */
  | "loading"
  /** More stored events are being read, page after page. */
  | "catching_up"
  /** Everything stored is shown; new events appear as the run writes them. */
  | "live"
  /** An event past a hole arrived; the stream waits for the missing seqs (see `missing`). */
  | "waiting";

export type UseRunEventsResult<E> = {
  /** The run's events in seq order: runtime events, then the component's own. No duplicate, no hole. */
  results: E[];
  status: RunEventsStatus;
  /** The seqs the stream waits for when `status` is "waiting". */
  missing: { from: number; to: number } | undefined;
};

export const DEFAULT_EVENT_PAGE_SIZE = 200;
const MAX_EVENT_PAGE_SIZE = 1_000;

/** `query` must page forward from `afterSeq` (the wrapper of `lakitu.listEvents`, not `latestEvents`). */
type ForwardCheck<Q extends EventsQuery> = "afterSeq" extends keyof FunctionArgs<Q>
  ? unknown
  : WrongQuery<"useRunEvents needs the wrapper of lakitu.listEvents (it takes afterSeq), not latestEvents">;

/**
 * A run's event log as one live list, for a console. It subscribes to the events after the last seq it
 * holds, appends what arrives, drops what it already has (by seq) and never shows a hole: an event
 * past a missing seq is held back until that seq arrives (the subscription stays on the last
 * contiguous seq, so the page re-runs when the hole fills), and a lost stretch shows as the `gap`
 * event the runtime or the component writes for it. A reconnect, a new client or a re-render resumes
 * from what it holds; a remount (or another `runId`) starts again from the beginning of the log.
 *
 * Component-written events (seq above 1e9, e.g. `budget_exceeded`) come after the runtime's, in seq
 * order; they are a handful per run and arrive in the same subscription.
 *
 * Errors of the query (e.g. `not_found` for an unknown run) are thrown, as `useQuery` does.
 *
 * @param query The app's wrapper of `lakitu.listEvents`: args `{ runId, afterSeq?, paginationOpts }`
 *   (plus any of its own), returning a page of events.
 * @param args `{ runId }` and the wrapper's other args, or "skip".
 * @example
 * // convex/lakitu.ts
 * export const events = query({
 *   args: { runId: v.string(), afterSeq: v.optional(v.number()), paginationOpts: paginationOptsValidator },
 *   handler: async (ctx, args) => { await requireUser(ctx); return await lakitu.listEvents(ctx, args); },
 * });
 * // Console.tsx
 * const { results, status } = useRunEvents(api.lakitu.events, { runId });
 */
export function useRunEvents<Q extends EventsQuery>(
  query: Q & ForwardCheck<Q>,
  args: HookArgs<Q, "paginationOpts" | "afterSeq"> | "skip",
  options: UseRunEventsOptions = {},
): UseRunEventsResult<PageItem<Q>> {
  type E = PageItem<Q>;
  const pageSize = checkPageSize(options.pageSize ?? DEFAULT_EVENT_PAGE_SIZE);
  const key = args === "skip" ? "skip" : JSON.stringify(convexToJson(args as Value));
  const [stored, setStream] = useState<EventStream<E>>(() => emptyStream(key));
  // Another run (or other args): start over. Done during render so no page of the old run is shown with the new one.
  const stream = stored.key === key ? stored : emptyStream<E>(key);
  if (stored !== stream) setStream(stream);

  const afterSeq = afterSeqOf(stream);
  // A page full of component events (read again on each page) would not move `afterSeq`: widen the page by them.
  const numItems = Math.min(pageSize + stream.component.length, MAX_EVENT_PAGE_SIZE);
  const queryArgs =
    args === "skip"
      ? ("skip" as const)
      : { ...(args as object), ...(afterSeq === undefined ? {} : { afterSeq }), paginationOpts: { numItems, cursor: null } };
  const page = useQuery(query as EventsQuery, queryArgs as never) as { page: E[]; isDone: boolean } | undefined;

  useEffect(() => {
    if (page) setStream((s) => applyPage(s, key, page));
  }, [page, key]);

  const results = useMemo(() => [...stream.runtime, ...stream.component], [stream.runtime, stream.component]);
  return { results, status: statusOf(stream, args === "skip"), missing: stream.missing };
}

function statusOf(s: EventStream<EventLike>, skip: boolean): RunEventsStatus {
  if (skip || !s.loaded) return "loading";
  if (s.missing) return "waiting";
  return s.caughtUp ? "live" : "catching_up";
}

function checkPageSize(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_EVENT_PAGE_SIZE) {
    throw new Error(`useRunEvents: options.pageSize must be an integer from 1 to ${MAX_EVENT_PAGE_SIZE}, got ${n}`);
  }
  return n;
}
