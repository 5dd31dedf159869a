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
  addCard?: Mutation<{ boardId: string; title: string; description?: string; stageId?: string }>;
  updateCard?: Mutation<{ cardId: string; title?: string; description?: string | null }>;
  deleteCard?: Mutation<{ cardId: string }>;
  runCard?: Mutation<{ cardId: string }>;
  stopCard?: Mutation<{ cardId: string; reason?: string }>;
  resumeCard?: Mutation<{ cardId: string; raise?: { maxSteps?: number; maxCostUsd?: number; maxDurationMs?: number }; note?: string }>;
  reviewRun?: Mutation<{ runId: string; decision: "approved" | "rejected"; note?: string }>;
  sendMessage?: Mutation<{ runId: string; text: string }>;
};

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
