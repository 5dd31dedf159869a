"use client";
import type { UsePaginatedQueryReturnType } from "convex/react";
import { useMemo } from "react";
import { usePages, type PageOptions } from "./useBoard.js";
import type { HookArgs, PageItem, TranscriptQuery } from "./types.js";

export type UseTranscriptResult<M> = Omit<UsePaginatedQueryReturnType<TranscriptQuery>, "results"> & {
  /** The messages loaded, oldest first (by `order`, then `stepOrder`); `loadMore` reaches further back. */
  results: M[];
};

/**
 * A card's agent conversation (every run of it: a retry continues the thread), live, oldest first, for a
 * transcript view. The query pages newest first, so the first page is the latest messages and
 * `loadMore(n)` loads older ones.
 *
 * @param query The app's wrapper of `lakitu.transcript`: args `{ cardId, paginationOpts }`.
 * @param args `{ cardId }` and the wrapper's other args, or "skip".
 * @param options `{ initialNumItems }` (1–100).
 * @example
 * const { results: messages, status, loadMore } = useTranscript(api.lakitu.transcript, { cardId }, { initialNumItems: 20 });
 */
export function useTranscript<Q extends TranscriptQuery>(query: Q, args: HookArgs<Q> | "skip", options: PageOptions): UseTranscriptResult<PageItem<Q>> {
  const pages = usePages("useTranscript", query, args, options, 100);
  const results = useMemo(
    () => [...(pages.results as PageItem<Q>[])].sort((a, b) => a.order - b.order || a.stepOrder - b.stepOrder),
    [pages.results],
  );
  return { ...pages, results } as UseTranscriptResult<PageItem<Q>>;
}
