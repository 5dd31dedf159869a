import type { ReactNode } from "react";

type Totals = { inputTokens: number; outputTokens: number; cachedInputTokens?: number; costUsd: number; steps: number; sandboxSeconds?: number };

/** Tokens, cost, steps and sandbox seconds of a run, and of its card over all runs when given. */
export function UsagePanel({ run, card }: { run?: Totals; card?: Totals }): ReactNode {
  if (!run && !card) return <p className="lk-empty">No usage yet.</p>;
  return (
    <table className="lk-table lk-usage">
      <thead>
        <tr>
          <th scope="col">Usage</th>
          {run ? <th scope="col">This run</th> : null}
          {card ? <th scope="col">Card total</th> : null}
        </tr>
      </thead>
      <tbody>
        {ROWS.map(([label, pick]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            {run ? <td>{pick(run)}</td> : null}
            {card ? <td>{pick(card)}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const ROWS: [string, (t: Totals) => string][] = [
  ["Input tokens", (t) => t.inputTokens.toLocaleString("en-US")],
  ["Cached input tokens", (t) => (t.cachedInputTokens ?? 0).toLocaleString("en-US")],
  ["Output tokens", (t) => t.outputTokens.toLocaleString("en-US")],
  ["Cost", (t) => `$${t.costUsd.toFixed(t.costUsd < 1 ? 4 : 2)}`],
  ["Steps", (t) => String(t.steps)],
  ["Sandbox seconds", (t) => (t.sandboxSeconds === undefined ? "—" : String(Math.round(t.sandboxSeconds)))],
];
