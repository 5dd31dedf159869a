/**
 * `LakituDashboard`: the whole board UI over `LakituFunctions` (the app's wrappers, or `lakitu dev`'s
 * local API). It needs a `ConvexProvider` above it and reads everything live through the hooks, so
 * progress shows without reloads: boards to pick from (or the given one), its stages as columns with
 * their cards, and a card's run panel with its console, QA report, artifacts, transitions, usage, plan,
 * review and transcript.
 */
"use client";
import type { ReactNode } from "react";
import { ErrorBoundary } from "./components/ErrorNote.js";
import { BoardPicker } from "./dashboard/BoardPicker.js";
import { BoardScreen } from "./dashboard/BoardScreen.js";
import { useRoute, type DashboardRoute } from "./dashboard/useRoute.js";
import type { CheckedFunctions, LakituFunctions } from "./functions.js";
import { LAKITU_STYLES } from "./styles.js";

export type { DashboardRoute };

export type LakituDashboardProps = {
  /** The app's wrapper functions (or `lakitu dev`'s): see `LakituFunctions`. */
  functions: LakituFunctions;
  /** The board to show. Without it, the boards of `listBoards` to pick from (and a New board form with `createBoard`). */
  boardId?: string;
  /** Shown above the board, e.g. `lakitu dev`'s note that run history is not kept. */
  notice?: ReactNode;
  /** Keep the open board, card and run in `location.hash`, so a reload comes back to them. Default false. */
  hashRoute?: boolean;
  /** Leave out the built-in stylesheet (the app styles the `lk-` classes itself). Default false. */
  unstyled?: boolean;
};

/**
 * @example
 * <ConvexProvider client={convex}>
 *   <LakituDashboard functions={{ getBoard: api.lakitu.board, listCards: api.lakitu.cards, ... }} boardId={boardId} />
 * </ConvexProvider>
 */
export function LakituDashboard<F extends LakituFunctions>(props: LakituDashboardProps & { functions: F & NoInfer<CheckedFunctions<F>> }): ReactNode {
  const [route, navigate] = useRoute(props.hashRoute ?? false);
  const boardId = props.boardId ?? route.boardId;
  return (
    <div className="lk-dashboard">
      {props.unstyled ? null : <style>{LAKITU_STYLES}</style>}
      {props.notice ? <div className="lk-notice">{props.notice}</div> : null}
      <ErrorBoundary resetKey={boardId ?? ""}>
        {boardId ? (
          <BoardScreen functions={props.functions} boardId={boardId} route={route} navigate={(next) => navigate(props.boardId ? { ...next, boardId: props.boardId } : next)} canLeave={!props.boardId} />
        ) : (
          <BoardPicker functions={props.functions} onOpen={(id) => navigate({ boardId: id })} />
        )}
      </ErrorBoundary>
    </div>
  );
}
