/**
 * The shapes of the app's own wrapper functions the hooks accept. Each is a `FunctionReference` from
 * the app's `api` whose args and return type match what the matching `Lakitu` client method takes and
 * gives, so passing the wrong wrapper (e.g. `api.lakitu.cards` to `useRunEvents`) is a type error.
 * A wrapper may take more args (e.g. a session id for its auth check); the hooks pass them through.
 */
import type { FunctionArgs, FunctionReference, FunctionReturnType, PaginationOptions, PaginationResult } from "convex/server";
import type { CardSummary, PublicArtifact, PublicBoard, PublicEvent, PublicStage, RunSummary } from "../convex/client/index.js";

/** A public query that takes `Args` plus `paginationOpts` and returns a page of `Item`. */
export type PageQuery<Args, Item> = FunctionReference<"query", "public", Args & { paginationOpts: PaginationOptions }, PaginationResult<Item>>;

/** The app's wrapper of `lakitu.getBoard`: `{ boardId }` → `{ board, stages } | null`. */
export type BoardQuery = FunctionReference<"query", "public", { boardId: string }, { board: PublicBoard; stages: PublicStage[] } | null>;
/** The app's wrapper of `lakitu.listCards`: a page of card summaries of a board (or one stage). */
export type CardsQuery = PageQuery<{ boardId: string; stageId?: string }, CardSummary>;
/** The app's wrapper of `lakitu.listRuns`: a page of a card's runs, newest first. */
export type RunsQuery = PageQuery<{ cardId: string }, RunSummary>;
/** The app's wrapper of `lakitu.listEvents`: a run's events in seq order after `afterSeq`. */
export type EventsQuery = PageQuery<{ runId: string; afterSeq?: number }, EventLike>;
/** The app's wrapper of `lakitu.transcript`: a card's agent messages, newest first. */
export type TranscriptQuery = PageQuery<{ cardId: string }, TranscriptMessage>;
/** The app's wrapper of `lakitu.listArtifacts`: a page of a run's (or a card's) artifacts. */
export type ArtifactsQuery = PageQuery<{ runId?: string; cardId?: string }, PublicArtifact>;
/** The app's wrapper of `lakitu.getArtifactUrl`: `{ artifactId }` → a download URL, or null. */
export type ArtifactUrlQuery = FunctionReference<"query", "public", { artifactId: string }, string | null>;

/** What `useRunEvents` reads of an event: its seq, kind and (for gap markers) data. */
export type EventLike = Pick<PublicEvent, "seq" | "kind"> & { data?: unknown };
/** One message of a card's transcript, as `lakitu.transcript` returns it. */
export type TranscriptMessage = { order: number; stepOrder: number; role: string; text: string; truncated?: boolean; createdAt: number };

/** The items of the pages a query returns. */
export type PageItem<Q extends FunctionReference<"query", "public", any, PaginationResult<any>>> = FunctionReturnType<Q>["page"][number];
/** The args a hook takes for query `Q`: the wrapper's own args without the ones the hook fills in. */
export type HookArgs<Q extends FunctionReference<"query", "public", any, any>, Filled extends string = "paginationOpts"> = Omit<FunctionArgs<Q>, Filled>;

/** A type error that says what is wrong, for wrappers the structural check lets through. */
export type WrongQuery<Message extends string> = { __lakituWrongQuery: Message };
