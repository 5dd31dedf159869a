/**
 * `lakitu/react`: the board UI and its hooks over the app's own wrapper functions (which do the app's
 * auth checks), in the style of `@convex-dev/agent/react`. React is an optional peer dependency of
 * `lakitu`; everything here needs `react` and a `ConvexProvider` from `convex/react` above it.
 *
 * - `LakituDashboard`: the whole board (boards, columns, cards, a card's run panel) over
 *   `LakituFunctions`; `lakitu dev` renders the same component.
 * - Presentational components (props in, callbacks out, no data fetching) to build your own board:
 *   `Board`, `CardTile`, `CardForm`, `BoardForm`, `RunConsole`, `QaReport`, `ArtifactPreview`,
 *   `TransitionsTimeline`, `UsagePanel`, `PlanView`, `ReviewPanel`, `SteerBox`, `TranscriptView`,
 *   `LiveSandboxes`, `ErrorNote` (and `Markdown`, `CsvTable`, `JsonTree`).
 * - Hooks: `useBoard`, `useCards`, `useRuns`, `useRunEvents`, `useTranscript`, `useArtifacts`.
 *
 * ```tsx
 * import { LakituDashboard } from "lakitu/react";
 * <LakituDashboard functions={{ getBoard: api.lakitu.board, listCards: api.lakitu.cards, ... }} boardId={boardId} />
 *
 * import { Board, RunConsole, useBoard, useCards, useRunEvents } from "lakitu/react";
 * const view = useBoard(api.lakitu.board, { boardId });
 * const cards = useCards(api.lakitu.cards, { boardId }, { initialNumItems: 50 });
 * const { results: events, status } = useRunEvents(api.lakitu.events, { runId });
 * view && <Board stages={view.stages} cards={cards.results} onOpenCard={setCardId} />;
 * <RunConsole events={events} status={status} />;
 * ```
 */
export { useBoard, useCards, useRuns, cardsByStage, type PageOptions } from "./useBoard.js";
export { useRunEvents, DEFAULT_EVENT_PAGE_SIZE, type UseRunEventsOptions, type UseRunEventsResult, type RunEventsStatus } from "./useRunEvents.js";
export { useTranscript, type UseTranscriptResult } from "./useTranscript.js";
export { useArtifacts, type ArtifactWithUrl, type UseArtifactsOptions, type UseArtifactsResult } from "./useArtifacts.js";
export { applyPage, emptyStream, afterSeqOf, GAP_KIND, type EventStream } from "./eventStream.js";
export { LakituDashboard, type LakituDashboardProps, type DashboardRoute } from "./Dashboard.js";
export {
  LAKITU_QUERY_NAMES,
  LAKITU_MUTATION_NAMES,
  lakituFunctions,
  type CheckedFunctions,
  type LakituFunctions,
  type LakituSends,
  type UsageTotals,
  type WrongWrapper,
} from "./functions.js";
export { LAKITU_STYLES } from "./styles.js";
export { Board, type BoardProps } from "./components/Board.js";
export { CardTile, StatusBadge, type CardTileProps } from "./components/CardTile.js";
export { CardForm, type CardFormProps, type CardFormValues } from "./components/CardForm.js";
export { BoardForm, type BoardFormProps, type BoardFormValues } from "./components/BoardForm.js";
export { RunConsole, type RunConsoleProps, type ConsoleEvent } from "./components/RunConsole.js";
export { QaReport } from "./components/QaReport.js";
export { ArtifactPreview, formatBytes, type ArtifactPreviewProps } from "./components/ArtifactPreview.js";
export { CsvTable } from "./components/CsvTable.js";
export { JsonTree } from "./components/JsonTree.js";
export { TransitionsTimeline } from "./components/TransitionsTimeline.js";
export { UsagePanel } from "./components/UsagePanel.js";
export { PlanView } from "./components/PlanView.js";
export { ReviewPanel, type ReviewPanelProps } from "./components/ReviewPanel.js";
export { SteerBox, type SteerBoxProps } from "./components/SteerBox.js";
export { TranscriptView, type TranscriptViewProps } from "./components/TranscriptView.js";
export { LiveSandboxes, type LiveSandbox, type LiveSandboxesProps } from "./components/LiveSandboxes.js";
export { ErrorNote, ErrorBoundary, errorInfo, type ErrorInfo, type ErrorNoteProps } from "./components/ErrorNote.js";
export { Markdown, safeHref } from "./markdown.js";
export { parseCsv, type CsvRows } from "./csv.js";
export { fetchText, PREVIEW_MAX_BYTES, type LoadedText, type TextLoader } from "./loadText.js";
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
