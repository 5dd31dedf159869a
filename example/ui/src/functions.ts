/**
 * The app's wrapper functions (example/convex/lakitu.ts and lakituBoard.ts, each with its auth check)
 * as the `LakituFunctions` the board UI calls. `lakituFunctions` makes a wrapper whose args or result do
 * not match its key a type error here, not a failed call in the browser.
 */
import { lakituFunctions } from "lakitu/react";
import { api } from "../../convex/_generated/api";

export const functions = lakituFunctions({
  // the board's core queries
  getBoard: api.lakitu.board,
  listCards: api.lakitu.cards,
  getCard: api.lakituBoard.getCard,
  listRuns: api.lakitu.runs,
  getRun: api.lakituBoard.getRun,
  listEvents: api.lakitu.events,
  listArtifacts: api.lakituBoard.listArtifacts,
  getArtifactUrl: api.lakituBoard.getArtifactUrl,
  // the panels
  listBoards: api.lakitu.boards,
  listTransitions: api.lakituBoard.listTransitions,
  transcript: api.lakituBoard.transcript,
  getUsage: api.lakitu.usage,
  getPlan: api.lakituBoard.getPlan,
  listActiveRuns: api.lakituBoard.listActiveRuns,
  // the buttons
  createBoard: api.lakituBoard.createBoard,
  addCard: api.lakitu.addCard,
  updateCard: api.lakituBoard.updateCard,
  deleteCard: api.lakituBoard.deleteCard,
  runCard: api.lakitu.run,
  stopCard: api.lakitu.stop,
  resumeCard: api.lakituBoard.resumeCard,
  reviewRun: api.lakituBoard.reviewRun,
  sendMessage: api.lakituBoard.sendMessage,
});

// A wrong wrapper is refused (tsc -p example/ui fails if this line stops being an error).
export const wrongResult = lakituFunctions({
  ...functions,
  // @ts-expect-error a page of card summaries is not a run's events
  listEvents: api.lakitu.cards,
});
// Nor is one whose result fits but would fail Convex's argument check at run time: `latestEvents`
// returns a page of events too, but takes no `afterSeq`, which the dashboard passes.
export const wrongArgs = lakituFunctions({
  ...functions,
  // @ts-expect-error listEvents: the wrapper must take exactly the args the dashboard passes
  listEvents: api.lakitu.latestEvents,
});
