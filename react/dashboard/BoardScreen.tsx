"use client";
import { useState, type ReactNode } from "react";
import { Board } from "../components/Board.js";
import { CardForm } from "../components/CardForm.js";
import { CardTile } from "../components/CardTile.js";
import { ErrorBoundary, ErrorNote } from "../components/ErrorNote.js";
import type { LakituFunctions } from "../functions.js";
import { useBoard, useCards } from "../useBoard.js";
import { ActiveRuns } from "./ActiveRuns.js";
import { RunPanel } from "./RunPanel.js";
import { useCall } from "./useCall.js";
import type { DashboardRoute } from "./useRoute.js";

type Props = {
  functions: LakituFunctions;
  boardId: string;
  route: DashboardRoute;
  navigate: (next: DashboardRoute) => void;
  /** Shows `All boards` (the board was picked, not given). */
  canLeave: boolean;
};

/** One board: its columns and cards (live), `New card`, the live sandboxes, and the open card's run panel. */
export function BoardScreen({ functions: f, boardId, route, navigate, canLeave }: Props): ReactNode {
  const view = useBoard(f.getBoard, { boardId });
  const cards = useCards(f.listCards, { boardId }, { initialNumItems: 100 });
  const [adding, setAdding] = useState(false);
  const { call, error, busy, clear } = useCall();
  const open = (cardId: string, runId?: string) => navigate({ boardId, cardId, ...(runId ? { runId } : {}) });
  const addCard = f.addCard;

  if (view === undefined) return <p className="lk-muted">Loading board…</p>;
  if (view === null) return <ErrorNote error={{ data: { code: "not_found", message: `board ${boardId} does not exist` } }} />;
  return (
    <div className="lk-board-screen">
      <header className="lk-bar">
        {canLeave ? (
          <button type="button" className="lk-secondary" onClick={() => navigate({})}>
            All boards
          </button>
        ) : null}
        <h1>{view.board.name}</h1>
        {addCard ? (
          <button type="button" onClick={() => setAdding((a) => !a)} aria-expanded={adding}>
            New card
          </button>
        ) : null}
      </header>
      {view.board.description ? <p className="lk-muted">{view.board.description}</p> : null}
      {error !== undefined ? <ErrorNote error={error} onDismiss={clear} /> : null}
      {adding && addCard ? (
        <CardForm
          busy={busy}
          submitLabel="Add card"
          onCancel={() => setAdding(false)}
          onSubmit={async ({ title, description }) => {
            const r = await call(addCard, { boardId, title, ...(description ? { description } : {}) });
            if (r.ok) setAdding(false);
          }}
        />
      ) : null}
      <div className={`lk-layout${route.cardId ? " lk-with-panel" : ""}`}>
        <div className="lk-main">
          <Board
            stages={view.stages}
            cards={cards.results}
            renderCard={(card) => <CardTile key={card.cardId} card={card} attempt={card.currentAttempt} selected={card.cardId === route.cardId} onOpen={open} />}
          />
          {cards.status === "CanLoadMore" ? (
            <button type="button" className="lk-secondary" onClick={() => cards.loadMore(100)}>
              More cards
            </button>
          ) : null}
          {f.listActiveRuns ? (
            <section className="lk-section" aria-labelledby="lk-live-heading">
              <h2 id="lk-live-heading">Live sandboxes</h2>
              <ErrorBoundary>
                <ActiveRuns functions={f} onOpen={open} />
              </ErrorBoundary>
            </section>
          ) : null}
        </div>
        {route.cardId ? (
          <ErrorBoundary resetKey={route.cardId}>
            <RunPanel
              functions={f}
              cardId={route.cardId}
              runId={route.runId}
              onSelectRun={(runId) => open(route.cardId!, runId)}
              onClose={() => navigate({ boardId })}
            />
          </ErrorBoundary>
        ) : null}
      </div>
    </div>
  );
}
