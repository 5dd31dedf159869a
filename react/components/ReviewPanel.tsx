import { useId, useState, type ReactNode } from "react";

export type ReviewPanelProps = {
  onApprove: () => unknown | Promise<unknown>;
  /** Rejects with the note; the next attempt is told it. */
  onReject: (note: string) => unknown | Promise<unknown>;
  /** Notes of earlier reviews of this run. */
  notes?: readonly string[];
  busy?: boolean;
};

/** A run waiting for review: `Approve`, or `Reject` with a `Review note` (required to reject). */
export function ReviewPanel({ onApprove, onReject, notes, busy }: ReviewPanelProps): ReactNode {
  const id = useId();
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<string>();
  const reject = () => {
    if (!note.trim()) {
      setProblem("Review note is required to reject: say what the next attempt should change.");
      return;
    }
    setProblem(undefined);
    void Promise.resolve(onReject(note.trim())).then(() => setNote(""));
  };
  return (
    <div className="lk-review">
      {notes && notes.length > 0 ? (
        <ul className="lk-notes">
          {notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      ) : null}
      <label htmlFor={`${id}-note`}>Review note</label>
      <textarea id={`${id}-note`} rows={3} value={note} onChange={(e) => setNote(e.target.value)} />
      {problem ? <p className="lk-problem">{problem}</p> : null}
      <div className="lk-actions">
        <button type="button" disabled={busy} onClick={() => void onApprove()}>
          Approve
        </button>
        <button type="button" className="lk-danger" disabled={busy} onClick={reject}>
          Reject
        </button>
      </div>
    </div>
  );
}
