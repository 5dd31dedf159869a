import type { ReactNode } from "react";
import type { PublicTransition } from "../../convex/client/index.js";

/** A card's audit log, oldest first: what changed (card or run), from → to, who caused it and why. */
export function TransitionsTimeline({ transitions }: { transitions: readonly PublicTransition[] }): ReactNode {
  if (transitions.length === 0) return <p className="lk-empty">No transitions yet.</p>;
  const sorted = [...transitions].sort((a, b) => a.at - b.at);
  return (
    <ol className="lk-timeline">
      {sorted.map((t, i) => (
        <li key={i} data-entity={t.entity}>
          <time dateTime={new Date(t.at).toISOString()}>{formatTime(t.at)}</time> <span className="lk-muted">{t.entity}</span>{" "}
          <span data-status={t.from}>{t.from}</span> → <span data-status={t.to}>{t.to}</span> <span className="lk-muted">({t.source})</span>
          {t.reason ? <span className="lk-reason">{` ${t.reason}`}</span> : null}
        </li>
      ))}
    </ol>
  );
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${d.toLocaleTimeString(undefined, { hour12: false })}`;
}
