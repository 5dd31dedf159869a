/**
 * PLACEHOLDER (replaced by the dashboard's real implementation): the whole board UI over `LakituFunctions`.
 */
import type { ReactNode } from "react";
import type { LakituFunctions } from "./functions.js";

export type DashboardRoute = { boardId?: string; cardId?: string; runId?: string };

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

export function LakituDashboard(props: LakituDashboardProps): ReactNode {
  return <div className="lk-dashboard">{props.notice}</div>;
}
