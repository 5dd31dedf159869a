"use client";
import { useQuery } from "convex/react";
import { useEffect, useRef, type ReactNode } from "react";
import { StatusBadge } from "../components/CardTile.js";
import { ErrorNote } from "../components/ErrorNote.js";
import type { LakituFunctions } from "../functions.js";
import { useRuns } from "../useBoard.js";
import { CardActions } from "./CardActions.js";
import { RunSections } from "./RunSections.js";
import { useCall } from "./useCall.js";

type Props = {
  functions: LakituFunctions;
  cardId: string;
  /** The run to show; default the card's latest. */
  runId?: string;
  onSelectRun: (runId: string) => void;
  onClose: () => void;
};

/** `<aside aria-label="Run">`: a card, its actions, its runs (latest by default) and the chosen run's sections. Escape closes it. */
export function RunPanel({ functions: f, cardId, runId, onSelectRun, onClose }: Props): ReactNode {
  const card = useQuery(f.getCard, { cardId });
  const runs = useRuns(f.listRuns, { cardId }, { initialNumItems: 20 });
  const latestId = runs.results[0]?.runId;
  const shownId = runId ?? latestId;
  const run = useQuery(f.getRun, shownId ? { runId: shownId } : "skip");
  const latest = useQuery(f.getRun, latestId && latestId !== shownId ? { runId: latestId } : "skip");
  const { call, error, busy, clear } = useCall();
  const ref = useRef<HTMLElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onClose]);
  useEffect(() => ref.current?.focus(), [cardId]);

  return (
    <aside aria-label="Run" className="lk-panel" ref={ref} tabIndex={-1}>
      <header className="lk-bar">
        <h2>{card?.title ?? (card === null ? "Card not found" : "Loading…")}</h2>
        {card ? <StatusBadge status={card.status} /> : null}
        <button type="button" className="lk-secondary lk-close" onClick={onClose} aria-label="Close run panel">
          Close
        </button>
      </header>
      {error !== undefined ? <ErrorNote error={error} onDismiss={clear} /> : null}
      {card === null ? <ErrorNote error={{ data: { code: "not_found", message: `card ${cardId} does not exist (deleted?)` } }} /> : null}
      {card ? (
        <>
          {card.description ? <p className="lk-description">{card.description}</p> : null}
          {card.note ? <p className="lk-note">{card.note}</p> : null}
          <CardActions functions={f} card={card} latest={shownId === latestId ? run : latest} call={call} busy={busy} onDeleted={onClose} />
        </>
      ) : null}
      {runs.results.length > 1 ? (
        <label className="lk-run-picker">
          Attempt{" "}
          <select value={shownId} onChange={(e) => onSelectRun(e.target.value)}>
            {runs.results.map((r) => (
              <option key={r.runId} value={r.runId}>
                {`attempt ${r.attempt} · ${r.status}${r.runId === latestId ? " (latest)" : ""}`}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {runs.status !== "LoadingFirstPage" && !shownId ? <p className="lk-empty">This card has not run yet.</p> : null}
      {run === null ? <p className="lk-empty">This run no longer exists.</p> : null}
      {run ? <RunSections functions={f} run={run} call={call} busy={busy} /> : null}
    </aside>
  );
}
