/**
 * `lakitu/react`: React hooks over the app's own wrapper functions (which do the app's auth checks),
 * in the style of `@convex-dev/agent/react`. React is an optional peer dependency of `lakitu`; these
 * hooks need `react` and a `ConvexProvider` from `convex/react` above them.
 *
 * ```tsx
 * import { useBoard, useCards, useRunEvents, cardsByStage } from "lakitu/react";
 * const view = useBoard(api.lakitu.board, { boardId });
 * const cards = useCards(api.lakitu.cards, { boardId }, { initialNumItems: 50 });
 * const { results: events } = useRunEvents(api.lakitu.events, { runId });
 * ```
 */
export { useBoard, useCards, useRuns, cardsByStage, type PageOptions } from "./useBoard.js";
export { useRunEvents, DEFAULT_EVENT_PAGE_SIZE, type UseRunEventsOptions, type UseRunEventsResult, type RunEventsStatus } from "./useRunEvents.js";
export { useTranscript, type UseTranscriptResult } from "./useTranscript.js";
export { useArtifacts, type ArtifactWithUrl, type UseArtifactsOptions, type UseArtifactsResult } from "./useArtifacts.js";
export { applyPage, emptyStream, afterSeqOf, GAP_KIND, type EventStream } from "./eventStream.js";
export type {
  ArtifactsQuery,
  ArtifactUrlQuery,
  BoardQuery,
  CardsQuery,
  EventLike,
  EventsQuery,
  PageQuery,
  RunsQuery,
  TranscriptMessage,
  TranscriptQuery,
} from "./types.js";
