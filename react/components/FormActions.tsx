import type { ReactNode } from "react";

/** A form's problem line (when there is one) and its submit and Cancel buttons. */
export function FormActions({ problem, submitLabel, busy, onCancel }: { problem?: string | null; submitLabel: string; busy?: boolean; onCancel?: () => void }): ReactNode {
  return (
    <>
      {problem ? <p className="lk-problem">{problem}</p> : null}
      <div className="lk-actions">
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel ? (
          <button type="button" className="lk-secondary" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </>
  );
}
