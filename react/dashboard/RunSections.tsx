"use client";
import { useQuery } from "convex/react";
import { useState, type ReactNode } from "react";
import type { PublicRun } from "../../convex/client/index.js";
import { ArtifactPreview } from "../components/ArtifactPreview.js";
import { ErrorBoundary } from "../components/ErrorNote.js";
import { PlanView } from "../components/PlanView.js";
import { QaReport } from "../components/QaReport.js";
import { ReviewPanel } from "../components/ReviewPanel.js";
import { RunConsole } from "../components/RunConsole.js";
import { SteerBox } from "../components/SteerBox.js";
import { TranscriptView } from "../components/TranscriptView.js";
import { TransitionsTimeline } from "../components/TransitionsTimeline.js";
import { UsagePanel } from "../components/UsagePanel.js";
import type { LakituFunctions } from "../functions.js";
import { useArtifacts } from "../useArtifacts.js";
import { usePages } from "../useBoard.js";
import { useRunEvents } from "../useRunEvents.js";
import { useTranscript } from "../useTranscript.js";
import type { CallResult } from "./useCall.js";

type Props = { functions: LakituFunctions; run: PublicRun; call: (ref: any, args: Record<string, unknown>) => Promise<CallResult>; busy: boolean };

const ACTIVE = new Set(["queued", "provisioning", "running"]);

/** A run's sections, each under its heading: Review (when pending), Console, QA report, Artifacts, Transitions, Usage, Plan, Transcript. */
export function RunSections({ functions: f, run, call, busy }: Props): ReactNode {
  const { runId, cardId } = run;
  const reviewRun = f.reviewRun;
  const sendMessage = f.sendMessage;
  const section = (title: string, body: ReactNode) => (
    <section className="lk-section">
      <h3>{title}</h3>
      <ErrorBoundary resetKey={runId}>{body}</ErrorBoundary>
    </section>
  );
  return (
    <div className="lk-sections">
      {run.error ? <p className="lk-run-error">{`Run ${run.status}: ${run.error.code}: ${run.error.message}`}</p> : null}
      {run.retryContext ? (
        <div className="lk-retry">
          <p>{`Attempt ${run.attempt} retries attempt ${run.retryContext.attempt}: ${run.retryContext.problem}`}</p>
          {run.retryContext.reviewerNotes.length > 0 ? (
            <ul className="lk-notes">
              {run.retryContext.reviewerNotes.map((n, i) => (
                <li key={i}>{`Reviewer: ${n}`}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {reviewRun && run.review?.state === "pending"
        ? section(
            "Review",
            <ReviewPanel
              busy={busy}
              notes={run.review.notes}
              onApprove={() => call(reviewRun, { runId, decision: "approved" })}
              onReject={(note) => call(reviewRun, { runId, decision: "rejected", note })}
            />,
          )
        : null}
      {section(
        "Console",
        <>
          <ConsoleBody f={f} runId={runId} />
          {sendMessage && ACTIVE.has(run.status) ? <SteerBox busy={busy} onSend={async (text) => (await call(sendMessage, { runId, text })).ok} /> : null}
        </>,
      )}
      {section("QA report", <QaReport qa={run.qa} />)}
      {section("Artifacts", <ArtifactsBody f={f} runId={runId} />)}
      {f.listTransitions ? section("Transitions", <TransitionsBody query={f.listTransitions} cardId={cardId} runId={runId} />) : null}
      {section("Usage", <UsageBody f={f} run={run} />)}
      {f.getPlan ? section("Plan", <PlanBody query={f.getPlan} cardId={cardId} />) : null}
      {f.transcript ? section("Transcript", <TranscriptBody query={f.transcript} cardId={cardId} />) : null}
    </div>
  );
}

function ConsoleBody({ f, runId }: { f: LakituFunctions; runId: string }): ReactNode {
  const { results, status, missing } = useRunEvents(f.listEvents, { runId });
  return <RunConsole events={results} status={status} missing={missing} />;
}

function ArtifactsBody({ f, runId }: { f: LakituFunctions; runId: string }): ReactNode {
  const artifacts = useArtifacts(f.listArtifacts, { runId }, { url: f.getArtifactUrl, initialNumItems: 50 });
  const [picked, setPicked] = useState<string>();
  const current = artifacts.results.filter((a) => !a.superseded);
  const shown = current.find((a) => a.artifactId === picked) ?? current[0];
  if (artifacts.status === "LoadingFirstPage") return <p className="lk-muted">Loading artifacts…</p>;
  if (current.length === 0) return <p className="lk-empty">No artifacts yet.</p>;
  return (
    <>
      <ul className="lk-artifact-list">
        {current.map((a) => (
          <li key={a.artifactId}>
            <button type="button" className="lk-link" aria-pressed={a === shown} onClick={() => setPicked(a.artifactId)}>
              {a.name}
            </button>
          </li>
        ))}
      </ul>
      {shown ? <ArtifactPreview key={shown.artifactId} artifact={shown} url={shown.url} /> : null}
    </>
  );
}

function TransitionsBody({ query, cardId, runId }: { query: NonNullable<LakituFunctions["listTransitions"]>; cardId: string; runId: string }): ReactNode {
  const page = usePages("listTransitions", query, { cardId }, { initialNumItems: 100 }, 200);
  const shown = page.results.filter((t) => t.entity === "card" || t.runId === runId);
  return <TransitionsTimeline transitions={shown} />;
}

function UsageBody({ f, run }: { f: LakituFunctions; run: PublicRun }): ReactNode {
  return f.getUsage ? <CardUsage query={f.getUsage} run={run} /> : <UsagePanel run={run.usage} />;
}

/** This run's usage beside the card's totals over all its runs. */
function CardUsage({ query, run }: { query: NonNullable<LakituFunctions["getUsage"]>; run: PublicRun }): ReactNode {
  const card = useQuery(query, { cardId: run.cardId });
  return <UsagePanel run={run.usage} card={card ?? undefined} />;
}

function PlanBody({ query, cardId }: { query: NonNullable<LakituFunctions["getPlan"]>; cardId: string }): ReactNode {
  const tasks = useQuery(query, { cardId });
  return tasks === undefined ? <p className="lk-muted">Loading plan…</p> : <PlanView tasks={tasks} />;
}

function TranscriptBody({ query, cardId }: { query: NonNullable<LakituFunctions["transcript"]>; cardId: string }): ReactNode {
  const t = useTranscript(query, { cardId }, { initialNumItems: 30 });
  return <TranscriptView messages={t.results} onLoadEarlier={t.status === "CanLoadMore" ? () => t.loadMore(30) : undefined} />;
}
