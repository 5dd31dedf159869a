"use client";
import { useQuery, type UsePaginatedQueryReturnType } from "convex/react";
import { usePaginatedQuery } from "convex-helpers/react";
import type { FunctionReturnType } from "convex/server";
import type { BoardQuery, CardsQuery, HookArgs, PageQuery, RunsQuery } from "./types.js";

/**
 * A board and its stages in order, live: `undefined` while loading, `null` when there is no such board.
 * Errors of the query are thrown, as `useQuery` does.
 *
 * @param query The app's wrapper of `lakitu.getBoard`: args `{ boardId }` (plus any of its own).
 * @param args `{ boardId }` and the wrapper's other args, or "skip".
 * @example
 * const view = useBoard(api.lakitu.board, { boardId });
 * if (view) return view.stages.map((s) => <Column key={s.stageId} stage={s} />);
 */
export function useBoard<Q extends BoardQuery>(query: Q, args: HookArgs<Q, never> | "skip"): FunctionReturnType<Q> | undefined {
  return useQuery(query as BoardQuery, args as never) as FunctionReturnType<Q> | undefined;
}

export type PageOptions = {
  /** Items of the first page, and of each `loadMore` unless it says otherwise (1–200). */
  initialNumItems: number;
};

/**
 * A board's cards (or one stage's, with `stageId`) as summaries, page by page, live: the
 * `usePaginatedQuery` result (`results`, `status`, `loadMore(n)`). `cardsByStage` sorts them into columns.
 *
 * @param query The app's wrapper of `lakitu.listCards`: args `{ boardId, stageId?, paginationOpts }`.
 * @param args `{ boardId, stageId? }` and the wrapper's other args, or "skip".
 * @param options `{ initialNumItems }` (1–200).
 * @example
 * const { results, status, loadMore } = useCards(api.lakitu.cards, { boardId }, { initialNumItems: 50 });
 */
export function useCards<Q extends CardsQuery>(query: Q, args: HookArgs<Q> | "skip", options: PageOptions): UsePaginatedQueryReturnType<Q> {
  return usePages("useCards", query, args, options, 200);
}

/**
 * A card's runs as summaries, newest first, page by page, live (the `usePaginatedQuery` result).
 *
 * @param query The app's wrapper of `lakitu.listRuns`: args `{ cardId, paginationOpts }`.
 * @param args `{ cardId }` and the wrapper's other args, or "skip".
 * @param options `{ initialNumItems }` (1–200).
 * @example
 * const { results: runs } = useRuns(api.lakitu.runs, { cardId }, { initialNumItems: 10 });
 */
export function useRuns<Q extends RunsQuery>(query: Q, args: HookArgs<Q> | "skip", options: PageOptions): UsePaginatedQueryReturnType<Q> {
  return usePages("useRuns", query, args, options, 200);
}

/**
 * convex-helpers' `usePaginatedQuery` (the one for `paginator`-based lists, which Lakitu's are: it pins
 * each page's end cursor once the next page is loaded, so an item that moves is not listed twice),
 * with `initialNumItems` checked against what the component's list accepts.
 */
export function usePages<Q extends PageQuery<object, unknown>>(
  hook: string,
  query: Q,
  args: HookArgs<Q> | "skip",
  options: PageOptions,
  maxItems: number,
): UsePaginatedQueryReturnType<Q> {
  checkNumItems(hook, options.initialNumItems, maxItems);
  return usePaginatedQuery(query, args as never, { initialNumItems: options.initialNumItems }) as UsePaginatedQueryReturnType<Q>;
}

export function checkNumItems(hook: string, n: unknown, maxItems: number): void {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > maxItems) {
    throw new Error(`${hook}: options.initialNumItems must be an integer from 1 to ${maxItems}, got ${String(n)}`);
  }
}

/**
 * Cards sorted into their stages' columns, in the stages' order; a card whose stage is not listed is
 * left out (it moved to a stage the board no longer has, or the list is of another board).
 * @example cardsByStage(view.stages, cards.results).map(({ stage, cards }) => <Column ... />)
 */
export function cardsByStage<S extends { stageId: string }, C extends { stageId: string }>(stages: readonly S[], cards: readonly C[]): { stage: S; cards: C[] }[] {
  const columns = stages.map((stage) => ({ stage, cards: [] as C[] }));
  const byId = new Map(columns.map((c) => [c.stage.stageId, c]));
  for (const card of cards) byId.get(card.stageId)?.cards.push(card);
  return columns;
}
