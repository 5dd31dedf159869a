import type { ReactNode } from "react";
import type { PublicEvent } from "../../convex/client/index.js";
import { GAP_KIND } from "../eventStream.js";
import type { RunEventsStatus } from "../useRunEvents.js";

export type ConsoleEvent = Pick<PublicEvent, "seq" | "kind"> & Partial<Pick<PublicEvent, "level" | "text" | "ts">> & { data?: unknown };

export type RunConsoleProps = {
  /** The run's events (as `useRunEvents` gives them); shown in seq order. */
  events: readonly ConsoleEvent[];
  status?: RunEventsStatus;
  /** The seqs the stream waits for, when `status` is "waiting". */
  missing?: { from: number; to: number };
};

/**
 * A run's event log: `<ol aria-label="Console">` with one `<li data-seq>` per event in seq order. A
 * step's prose is shown as it is; its code and output are collapsible (`<details>`); a lost stretch
 * (`gap`) is marked as such; the runtime's status, steering and error lines are shown with their level.
 */
export function RunConsole({ events, status, missing }: RunConsoleProps): ReactNode {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  return (
    <div className="lk-console-wrap">
      <ol aria-label="Console" className="lk-console">
        {sorted.map((e) => (
          <li key={e.seq} data-seq={e.seq} data-kind={e.kind} className={`lk-ev lk-ev-${safeClass(e.kind)} lk-level-${e.level ?? "info"}`}>
            <EventLine event={e} />
          </li>
        ))}
      </ol>
      {sorted.length === 0 && status !== "loading" ? <p className="lk-empty">No events yet.</p> : null}
      <p className="lk-console-status" aria-live="polite">
        {statusText(status, missing)}
      </p>
    </div>
  );
}

function EventLine({ event: e }: { event: ConsoleEvent }): ReactNode {
  const data = (e.data ?? {}) as Record<string, unknown>;
  const step = typeof data.step === "number" ? data.step : undefined;
  const text = e.text ?? "";
  switch (e.kind) {
    case GAP_KIND:
      return (
        <p className="lk-gap" role="note">
          <strong>Gap:</strong> {text || `events ${String(data.from)}–${String(data.to)} were lost`}
        </p>
      );
    case "step":
      return (
        <div>
          <span className="lk-ev-tag">Step {step ?? "?"}</span>
          <p className="lk-prose">{text}</p>
        </div>
      );
    case "code":
      return (
        <details className="lk-code">
          <summary>Code{step !== undefined ? ` of step ${step}` : ""}</summary>
          <pre>
            <code>{text}</code>
          </pre>
        </details>
      );
    case "output":
      return (
        <details className="lk-output">
          <summary>
            Output{step !== undefined ? ` of step ${step}` : ""}
            {typeof data.ms === "number" ? ` · ${data.ms} ms` : ""}
            {typeof data.truncatedBytes === "number" && data.truncatedBytes > 0 ? ` · ${data.truncatedBytes} bytes cut` : ""}
          </summary>
          <pre>{text || "(no output)"}</pre>
        </details>
      );
    case "error":
      return (
        <div>
          <span className="lk-ev-tag">Error{step !== undefined ? ` in step ${step}` : ""}</span>
          <pre className="lk-ev-error">{text}</pre>
        </div>
      );
    default:
      return (
        <div>
          <span className="lk-ev-tag">{e.kind}</span> <span className="lk-ev-text">{text}</span>
          {e.data !== undefined && !text ? (
            <details>
              <summary>data</summary>
              <pre>{JSON.stringify(e.data, null, 2)}</pre>
            </details>
          ) : null}
        </div>
      );
  }
}

function statusText(status: RunEventsStatus | undefined, missing: { from: number; to: number } | undefined): string {
  switch (status) {
    case "loading":
      return "Loading events…";
    case "catching_up":
      return "Reading stored events…";
    case "waiting":
      return missing ? `Waiting for events ${missing.from}–${missing.to}…` : "Waiting for missing events…";
    case "live":
      return "Up to date: new events appear as the run writes them.";
    default:
      return "";
  }
}

function safeClass(kind: string): string {
  return kind.replace(/[^a-z0-9_-]/gi, "_").slice(0, 32);
}
