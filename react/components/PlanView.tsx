import type { ReactNode } from "react";
import type { PlanTask } from "../../convex/shared/validators.js";

const MARK = { todo: "☐", doing: "◐", done: "☑" } as const;

/** The agent's plan for the card: its goals, deliverables and own tasks with their status. */
export function PlanView({ tasks }: { tasks: readonly PlanTask[] }): ReactNode {
  if (tasks.length === 0) return <p className="lk-empty">No plan yet.</p>;
  return (
    <ul className="lk-plan">
      {tasks.map((t) => (
        <li key={t.id} data-status={t.status}>
          <span aria-hidden="true">{MARK[t.status]} </span>
          <span className="lk-muted">{`${t.kind}: `}</span>
          {t.title} <span className="lk-muted">({t.status})</span>
          {t.note ? <p className="lk-reason">{t.note}</p> : null}
        </li>
      ))}
    </ul>
  );
}
