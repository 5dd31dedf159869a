import type { ReactNode } from "react";

/** Nodes shown at most; past it the tree says how many it left out. */
const MAX_NODES = 2000;

/** A JSON value as a collapsible tree: objects and arrays are `<details>` (the top two levels open). */
export function JsonTree({ value, label = "root" }: { value: unknown; label?: string }): ReactNode {
  const budget = { left: MAX_NODES };
  const tree = node(label, value, 0, budget);
  return (
    <div className="lk-json">
      {tree}
      {budget.left < 0 ? <p className="lk-note">Only the first {MAX_NODES} values are shown.</p> : null}
    </div>
  );
}

function node(key: string, value: unknown, depth: number, budget: { left: number }): ReactNode {
  if (--budget.left < 0) return null;
  if (value !== null && typeof value === "object") {
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const kind = Array.isArray(value) ? `Array(${entries.length})` : `Object {${entries.length}}`;
    return (
      <details open={depth < 2} className="lk-json-node">
        <summary>
          <span className="lk-json-key">{key}</span>: <span className="lk-json-kind">{kind}</span>
        </summary>
        <ul>
          {entries.map(([k, v]) => (
            <li key={k}>{node(k, v, depth + 1, budget)}</li>
          ))}
        </ul>
      </details>
    );
  }
  return (
    <span className="lk-json-leaf">
      <span className="lk-json-key">{key}</span>: <span className={`lk-json-${value === null ? "null" : typeof value}`}>{JSON.stringify(value)}</span>
    </span>
  );
}
