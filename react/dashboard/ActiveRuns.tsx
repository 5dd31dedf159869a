"use client";
import { useQueries } from "convex/react";
import { useMemo, type ReactNode } from "react";
import type { PublicCard, PublicRun } from "../../convex/client/index.js";
import { ErrorNote } from "../components/ErrorNote.js";
import { LiveSandboxes, type LiveSandbox } from "../components/LiveSandboxes.js";
import type { LakituFunctions } from "../functions.js";
import { usePages } from "../useBoard.js";
import { useCall } from "./useCall.js";

/** The active runs (`listActiveRuns`) with their sessions and sandboxes; `Kill` stops the card. */
export function ActiveRuns({ functions: f, onOpen }: { functions: LakituFunctions; onOpen: (cardId: string, runId: string) => void }): ReactNode {
  const active = usePages("listActiveRuns", f.listActiveRuns!, {}, { initialNumItems: 50 }, 200);
  const { call, error, busy, clear } = useCall();
  const ids = active.results.map((r) => `${r.runId}:${r.cardId}`).join(",");
  const requests = useMemo(() => {
    const out: Record<string, { query: any; args: Record<string, string> }> = {};
    for (const r of active.results) {
      out[`run:${r.runId}`] = { query: f.getRun, args: { runId: r.runId } };
      out[`card:${r.cardId}`] = { query: f.getCard, args: { cardId: r.cardId } };
    }
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids, f.getRun, f.getCard]);
  const got = useQueries(requests);
  const rows: LiveSandbox[] = active.results.map((r) => {
    const run = ok<PublicRun>(got[`run:${r.runId}`]);
    const card = ok<PublicCard>(got[`card:${r.cardId}`]);
    return { runId: r.runId, cardId: r.cardId, title: card?.title, status: r.status, attempt: r.attempt, sandboxId: run?.session?.sandboxId };
  });
  const stop = f.stopCard;
  return (
    <>
      {error !== undefined ? <ErrorNote error={error} onDismiss={clear} /> : null}
      <LiveSandboxes runs={rows} busy={busy} onOpen={onOpen} onKill={stop ? (cardId) => void call(stop, { cardId, reason: "killed from the dashboard" }) : undefined} />
    </>
  );
}

function ok<T>(v: unknown): T | undefined {
  return v instanceof Error || v === null ? undefined : (v as T | undefined);
}
