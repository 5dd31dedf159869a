"use client";
import { useState, type ReactNode } from "react";
import type { PublicCard, PublicRun } from "../../convex/client/index.js";
import { CardForm } from "../components/CardForm.js";
import type { LakituFunctions } from "../functions.js";
import type { CallResult } from "./useCall.js";

/** Steps a Resume adds to what the paused run had used. */
export const RESUME_EXTRA_STEPS = 20;

type Raise = { maxSteps?: number; maxCostUsd?: number; maxDurationMs?: number };

/**
 * What Resume raises: the limit the paused run stopped on. Steps: what it used plus
 * RESUME_EXTRA_STEPS. Cost: twice what it spent (at least a dollar more). Duration: twice how long it
 * ran (at least a minute). Without a recorded budget (an older run), the step limit.
 */
export function resumeRaise(run: PublicRun | null | undefined): Raise {
  const usage = run?.usage;
  switch (run?.budget?.limit) {
    case "maxCostUsd":
      return { maxCostUsd: Math.max(2 * (usage?.costUsd ?? 0), (usage?.costUsd ?? 0) + 1) };
    case "maxDurationMs": {
      const ran = run.startedAt !== undefined && run.endedAt !== undefined ? run.endedAt - run.startedAt : 0;
      return { maxDurationMs: Math.max(2 * ran, 60_000) };
    }
    default:
      return { maxSteps: (usage?.steps ?? 0) + RESUME_EXTRA_STEPS };
  }
}

type Props = {
  functions: LakituFunctions;
  card: PublicCard;
  /** The card's latest run (Resume raises its step limit). */
  latest: PublicRun | null | undefined;
  call: (ref: any, args: Record<string, unknown>) => Promise<CallResult>;
  busy: boolean;
  onDeleted: () => void;
};

/**
 * The buttons a card's status allows: `Run` (idle), `Stop` (queued, running), `Retry` (blocked, error),
 * `Resume` (paused: continues the run with the limit it stopped on raised), `Edit` and `Delete`. A button whose
 * function the app left out is not shown.
 */
export function CardActions({ functions: f, card, latest, call, busy, onDeleted }: Props): ReactNode {
  const [editing, setEditing] = useState(false);
  const s = card.status;
  const id = { cardId: card.cardId };
  const button = (label: string, onClick: () => void, className?: string) => (
    <button type="button" className={className} disabled={busy} onClick={onClick}>
      {label}
    </button>
  );
  return (
    <>
      <div className="lk-actions">
        {f.runCard && s === "idle" ? button("Run", () => void call(f.runCard, id)) : null}
        {f.stopCard && (s === "queued" || s === "running") ? button("Stop", () => void call(f.stopCard, id), "lk-danger") : null}
        {f.runCard && (s === "blocked" || s === "error") ? button("Retry", () => void call(f.runCard, id)) : null}
        {f.resumeCard && s === "paused"
          ? button("Resume", () => void call(f.resumeCard, { ...id, raise: resumeRaise(latest) }))
          : null}
        {f.updateCard ? button("Edit", () => setEditing((e) => !e), "lk-secondary") : null}
        {f.deleteCard
          ? button(
              "Delete",
              () =>
                void call(f.deleteCard, id).then((r) => {
                  if (r.ok) onDeleted();
                }),
              "lk-danger",
            )
          : null}
      </div>
      {editing && f.updateCard ? (
        <CardForm
          initial={{ title: card.title, description: card.description ?? "" }}
          submitLabel="Save"
          busy={busy}
          onCancel={() => setEditing(false)}
          onSubmit={async ({ title, description }) => {
            const r = await call(f.updateCard, { ...id, title, description: description || null });
            if (r.ok) setEditing(false);
          }}
        />
      ) : null}
    </>
  );
}
