import type { ReactNode } from "react";

export type LiveSandbox = {
  runId: string;
  cardId: string;
  /** The card's title, when known. */
  title?: string;
  status: string;
  attempt?: number;
  sandboxId?: string;
};

export type LiveSandboxesProps = {
  runs: readonly LiveSandbox[];
  /** Stops the card (its run is canceled and its sandbox killed); the Kill button appears when given. */
  onKill?: (cardId: string) => void;
  onOpen?: (cardId: string, runId: string) => void;
  busy?: boolean;
};

/** The runs now active with their session and sandbox, each with `Kill`. */
export function LiveSandboxes({ runs, onKill, onOpen, busy }: LiveSandboxesProps): ReactNode {
  if (runs.length === 0) return <p className="lk-empty">No active runs.</p>;
  return (
    <ul className="lk-live-list">
      {runs.map((r) => (
        <li key={r.runId} data-run-id={r.runId}>
          {onOpen ? (
            <button type="button" className="lk-link" onClick={() => onOpen(r.cardId, r.runId)}>
              {/* Not named by the title alone: the board's card button is the one whose name starts with it. */}
              Open {r.title ?? r.cardId}
            </button>
          ) : (
            <span>{r.title ?? r.cardId}</span>
          )}{" "}
          <span data-status={r.status} className="lk-status">
            {r.status}
          </span>
          {r.attempt !== undefined ? <span className="lk-muted">{` attempt ${r.attempt}`}</span> : null}
          <span className="lk-muted">{` sandbox ${r.sandboxId ?? "not created yet"}`}</span>{" "}
          {onKill ? (
            <button type="button" className="lk-danger" disabled={busy} onClick={() => onKill(r.cardId)}>
              Kill
            </button>
          ) : null}
        </li>
      ))}
    </ul>
  );
}
