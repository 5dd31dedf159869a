import type { ReactNode } from "react";
import type { CardSummary } from "../../convex/client/index.js";

export type CardTileProps = {
  card: Pick<CardSummary, "cardId" | "title" | "status"> & { description?: string };
  /** The attempt of the card's current (or last) run, when known. */
  attempt?: number;
  selected?: boolean;
  onOpen?: (cardId: string) => void;
};

/** A card on the board: a button named by its title, with its status (`data-status`), attempt and a Live badge while it runs. */
export function CardTile({ card, attempt, selected, onOpen }: CardTileProps): ReactNode {
  return (
    <article className={`lk-card${selected ? " lk-selected" : ""}`} data-card-id={card.cardId}>
      <button type="button" className="lk-card-open" aria-pressed={selected ?? false} onClick={() => onOpen?.(card.cardId)}>
        <span className="lk-card-title">{card.title}</span>{" "}
        <span className="lk-card-meta">
          <StatusBadge status={card.status} />
          {attempt !== undefined ? <span className="lk-attempt">{` attempt ${attempt}`}</span> : null}
          {card.status === "running" ? <span className="lk-live">{" "}Live</span> : null}
        </span>
      </button>
    </article>
  );
}

/** A status as text in an element with `data-status` (styled per status). */
export function StatusBadge({ status }: { status: string }): ReactNode {
  return (
    <span className="lk-status" data-status={status}>
      {status}
    </span>
  );
}
