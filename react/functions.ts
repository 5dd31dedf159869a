/**
 * The functions a whole board UI (`LakituDashboard` and its panels) calls: the app's own wrappers of
 * the `Lakitu` client's methods, one per key, each taking the same args as that method (the app fills
 * in `providerHandle`, `callbackUrl`, the owner and its auth checks). `lakitu dev` serves the same
 * names from its local API, so the dashboard and an app's board are the same components.
 *
 * The board's core queries are required; a panel or button whose function is left out is not shown
 * (an app without `deleteCard` has no Delete button).
 */
import type { FunctionReference, PaginationOptions, PaginationResult } from "convex/server";
import type { ComponentApi } from "../convex/component/_generated/component.js";
import type { CardSummary, PublicArtifact, PublicBoard, PublicCard, PublicRun, PublicTransition, RunSummary } from "../convex/client/index.js";
import type { PlanTask, StageInput } from "../convex/shared/validators.js";
import type { ArtifactUrlQuery, BoardQuery, EventsQuery, TranscriptQuery } from "./types.js";

type Page<Args, Item> = FunctionReference<"query", "public", Args & { paginationOpts: PaginationOptions }, PaginationResult<Item>>;
type Query<Args extends Record<string, any>, Result> = FunctionReference<"query", "public", Args, Result>;
/** A mutation wrapper: what it returns is the app's business; the UI only awaits it. */
type Mutation<Args extends Record<string, any>> = FunctionReference<"mutation", "public", Args, any>;
type Returns<F> = F extends FunctionReference<any, any, any, infer R> ? R : never;

/** Usage and cost totals of a run or a card, as `lakitu.getUsage` returns them. */
export type UsageTotals = Returns<ComponentApi["usage"]["getUsage"]>;

export type LakituFunctions = {
  // ---- queries the board needs ----
  getBoard: BoardQuery;
  listCards: Page<{ boardId: string; stageId?: string }, CardSummary>;
  getCard: Query<{ cardId: string }, PublicCard | null>;
  listRuns: Page<{ cardId: string }, RunSummary>;
  getRun: Query<{ runId: string }, PublicRun | null>;
  listEvents: EventsQuery;
  listArtifacts: Page<{ runId?: string; cardId?: string }, PublicArtifact>;
  getArtifactUrl: ArtifactUrlQuery;
  // ---- optional panels ----
  listBoards?: Page<Record<never, never>, PublicBoard>;
  listTransitions?: Page<{ cardId: string }, PublicTransition>;
  transcript?: TranscriptQuery;
  /** The card's totals over all its runs (a run's own are on `getRun`). */
  getUsage?: Query<{ cardId: string }, UsageTotals>;
  getPlan?: Query<{ cardId: string }, PlanTask[]>;
  listActiveRuns?: Page<Record<never, never>, RunSummary>;
  // ---- optional actions (a button appears when its function is given) ----
  createBoard?: Mutation<{ name: string; description?: string; stages: StageInput[] }>;
  addCard?: Mutation<{ boardId: string; title: string; description?: string }>;
  updateCard?: Mutation<{ cardId: string; title?: string; description?: string | null }>;
  deleteCard?: Mutation<{ cardId: string }>;
  runCard?: Mutation<{ cardId: string }>;
  stopCard?: Mutation<{ cardId: string }>;
  resumeCard?: Mutation<{ cardId: string; raise?: { maxSteps?: number; maxCostUsd?: number; maxDurationMs?: number } }>;
  reviewRun?: Mutation<{ runId: string; decision: "approved" | "rejected"; note?: string }>;
  sendMessage?: Mutation<{ runId: string; text: string }>;
};

/**
 * The args the dashboard passes each function (besides `paginationOpts`). A wrapper must accept every
 * one of them and require no other: `LakituFunctions` alone cannot say so (a function reference's
 * args type only lets through wrappers that take *fewer* args), so `lakituFunctions()` and
 * `LakituDashboard` check it with `CheckedFunctions`.
 */
export type LakituSends = {
  getBoard: { boardId: string };
  listCards: { boardId: string };
  getCard: { cardId: string };
  listRuns: { cardId: string };
  getRun: { runId: string };
  listEvents: { runId: string; afterSeq?: number };
  listArtifacts: { runId: string };
  getArtifactUrl: { artifactId: string };
  listBoards: Record<never, never>;
  listTransitions: { cardId: string };
  transcript: { cardId: string };
  getUsage: { cardId: string };
  getPlan: { cardId: string };
  listActiveRuns: Record<never, never>;
  createBoard: { name: string; description?: string; stages: StageInput[] };
  addCard: { boardId: string; title: string; description?: string };
  updateCard: { cardId: string; title?: string; description?: string | null };
  deleteCard: { cardId: string };
  runCard: { cardId: string };
  stopCard: { cardId: string };
  resumeCard: { cardId: string; raise?: { maxSteps?: number; maxCostUsd?: number; maxDurationMs?: number } };
  reviewRun: { runId: string; decision: "approved" | "rejected"; note?: string };
  sendMessage: { runId: string; text: string };
};

type RequiredKeys<T> = { [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? never : K }[keyof T];
type ArgsOf<F> = F extends FunctionReference<any, any, any, any, any> ? F["_args"] : never;
/** The names of the args the dashboard passes that wrapper `F` does not take, and of those it requires but is not given. */
type Unaccepted<F, Sent> = Exclude<keyof Sent, keyof ArgsOf<F>> | Exclude<RequiredKeys<ArgsOf<F>>, keyof Sent | "paginationOpts">;
/** A type error that names what a wrapper must change. */
export type WrongWrapper<Message extends string> = { __lakituWrongWrapper: Message };

/**
 * `F` where each wrapper takes exactly what the dashboard passes it; a wrapper that misses an arg the
 * dashboard passes (e.g. `listEvents` without `afterSeq`) or requires one it never passes becomes a
 * type error naming the args.
 */
export type CheckedFunctions<F> = {
  [K in keyof F]: K extends keyof LakituSends
    ? [Unaccepted<NonNullable<F[K]>, LakituSends[K]>] extends [never]
      ? F[K]
      : WrongWrapper<`${K & string}: the wrapper must take exactly the args the dashboard passes (see LakituSends); it differs on: ${Extract<Unaccepted<NonNullable<F[K]>, LakituSends[K]>, string>}`>
    : F[K];
};

/**
 * Checks an app's wrappers for `LakituDashboard` and returns them as they are:
 * `const functions = lakituFunctions({ getBoard: api.lakitu.board, ... })`.
 */
export function lakituFunctions<F extends LakituFunctions>(functions: F & NoInfer<CheckedFunctions<F>>): F {
  return functions;
}

/** The names of `LakituFunctions` that are queries (the rest are mutations). */
export const LAKITU_QUERY_NAMES = [
  "getBoard",
  "listCards",
  "getCard",
  "listRuns",
  "getRun",
  "listEvents",
  "listArtifacts",
  "getArtifactUrl",
  "listBoards",
  "listTransitions",
  "transcript",
  "getUsage",
  "getPlan",
  "listActiveRuns",
] as const satisfies readonly (keyof LakituFunctions)[];

/** The names of `LakituFunctions` that are mutations. */
export const LAKITU_MUTATION_NAMES = [
  "createBoard",
  "addCard",
  "updateCard",
  "deleteCard",
  "runCard",
  "stopCard",
  "resumeCard",
  "reviewRun",
  "sendMessage",
] as const satisfies readonly (keyof LakituFunctions)[];
