import type { ReactNode } from "react";
import type { CardSummary, PublicStage } from "../../convex/client/index.js";
import { cardsByStage } from "../useBoard.js";
import { CardTile } from "./CardTile.js";

export type BoardProps = {
  stages: readonly Pick<PublicStage, "stageId" | "name" | "kind">[];
  cards: readonly CardSummary[];
  selectedCardId?: string;
  onOpenCard?: (cardId: string) => void;
  /** Attempts of the cards' current runs by card id, when the caller knows them. */
  attempts?: Readonly<Record<string, number>>;
  /** Renders a card instead of the default `CardTile` (e.g. one that reads its run's attempt). */
  renderCard?: (card: CardSummary) => ReactNode;
};

/** The board: one `<section aria-label="Stage <name>">` column per stage, in order, with its cards. */
export function Board({ stages, cards, selectedCardId, onOpenCard, attempts, renderCard }: BoardProps): ReactNode {
  const columns = cardsByStage(stages, cards);
  return (
    <div className="lk-board">
      {columns.map(({ stage, cards }) => (
        <section key={stage.stageId} className="lk-column" aria-label={`Stage ${stage.name}`} data-kind={stage.kind}>
          <h2 className="lk-column-title">
            {stage.name} <span className="lk-count">{cards.length}</span>
          </h2>
          {cards.length === 0 ? <p className="lk-empty">No cards</p> : null}
          <ul className="lk-cards">
            {cards.map((card) => (
              <li key={card.cardId}>
                {renderCard ? (
                  renderCard(card)
                ) : (
                  <CardTile card={card} attempt={attempts?.[card.cardId]} selected={card.cardId === selectedCardId} onOpen={onOpenCard} />
                )}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
