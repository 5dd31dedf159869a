import type { ReactNode } from "react";
import type { TranscriptMessage } from "../types.js";

export type TranscriptViewProps = {
  /** Oldest first (as `useTranscript` gives them). */
  messages: readonly TranscriptMessage[];
  /** Shows `Load earlier messages` when given. */
  onLoadEarlier?: () => void;
};

/** The card's conversation with its agent, oldest first, each message with its role. */
export function TranscriptView({ messages, onLoadEarlier }: TranscriptViewProps): ReactNode {
  return (
    <div className="lk-transcript">
      {onLoadEarlier ? (
        <button type="button" className="lk-secondary" onClick={onLoadEarlier}>
          Load earlier messages
        </button>
      ) : null}
      {messages.length === 0 ? <p className="lk-empty">No messages yet.</p> : null}
      <ol>
        {messages.map((m) => (
          <li key={`${m.order}:${m.stepOrder}`} data-role={m.role} className={`lk-msg lk-msg-${m.role === "user" || m.role === "assistant" ? m.role : "other"}`}>
            <span className="lk-ev-tag">{m.role}</span>
            <pre className="lk-prose">{m.text}</pre>
            {m.truncated ? <p className="lk-note">(cut)</p> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
