/**
 * The app's board page, typechecked against the packed tarball's `lakitu/react`: `LakituDashboard`
 * over the app's own wrappers (convex/lakitu.ts as `npx lakitu init` wrote it),
 * and a hook used directly.
 */
import { ConvexProvider, ConvexReactClient } from "convex/react";
import { LakituDashboard, lakituFunctions, useBoard, type LakituFunctions } from "lakitu/react";
import { api } from "../convex/_generated/api";

export const functions = lakituFunctions({
  getBoard: api.lakitu.board,
  listCards: api.lakitu.cards,
  getCard: api.lakitu.card,
  listRuns: api.lakitu.runs,
  getRun: api.lakitu.getRun,
  listEvents: api.lakitu.events,
  listArtifacts: api.lakitu.artifacts,
  getArtifactUrl: api.lakitu.artifactUrl,
  listBoards: api.lakitu.boards,
  getUsage: api.lakitu.usage,
  addCard: api.lakitu.addCard,
  runCard: api.lakitu.run,
  stopCard: api.lakitu.stop,
  resumeCard: api.lakitu.resume,
});

const wrong = {
  ...functions,
  // @ts-expect-error a run's events are not a page of cards
  listCards: api.lakitu.events,
} satisfies LakituFunctions;
void wrong;

function BoardName({ boardId }: { boardId: string }) {
  const view = useBoard(api.lakitu.board, { boardId });
  return <h1>{view === undefined ? "…" : (view?.board.name ?? "No such board")}</h1>;
}

export function App({ url, boardId }: { url: string; boardId: string }) {
  return (
    <ConvexProvider client={new ConvexReactClient(url)}>
      <BoardName boardId={boardId} />
      <LakituDashboard functions={functions} boardId={boardId} />
    </ConvexProvider>
  );
}
