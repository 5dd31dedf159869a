/**
 * The one invariant checker every fault scenario ends with. It reads the component's tables (and the
 * sandbox host, and what the callback proxy saw) and checks:
 *
 * 1. stuck        no active run past the earliest limit the watchdog or the reaper acts on, + grace
 *                 (`stuckDue`: its deadline; for a running session, last heartbeat + heartbeat timeout and
 *                 last activity + idle limit; queued/provisioning: queuedAt + provisionGraceMs); no card
 *                 queued/running on a run that ended more than `grace` ago. Names card, run, status and
 *                 how far past. (monitor.ts checks the same during every scenario.)
 * 2. sandboxes    no live sandbox (the host's list, or the test provider's) for a terminal run, and (in a
 *                 full check) none for a run that does not exist.
 * 3. artifacts    every artifact row's blob exists and hashes to its sha256; every file of an accepted
 *                 completion's manifest has a stored artifact with that sha256.
 * 4. events       per run, runtime events are seqs 0..n-1 (no gap), no (run, seq) twice, component events
 *                 are 1_000_000_001.. without gap, and every event the component acknowledged (as seen by
 *                 the callback proxy) is stored.
 * 5. tokens       once a run left the agent phase (its first transition out of queued/provisioning/
 *                 running), its sessions' token hashes are cleared within `revokeGraceMs`, and none was
 *                 revoked later than that. (monitor.ts also presents each token to /heartbeat then.)
 * 6. audit        each run's rows in `transitions` are a path of RUN_TRANSITIONS from none→queued to its
 *                 current status; each card's rows chain to its current status and stage.
 * 7. secrets      no document of the card (card, runs, sessions, events, artifacts and their bytes,
 *                 inbox, transitions) holds a Lakitu token or any of the given secret values, literal or
 *                 encoded (secretScan.ts); nor, when given, any table of any component (`everyTable`),
 *                 the model server's requests or the captured logs.
 * 8. budget       no run spent past its budget: its model turns (reserved or settled) are at most its
 *                 maxSteps, its cost at most its maxCostUsd, at most one turn is in flight, and, where
 *                 the model server's own count of calls is given, that count is at most maxSteps and
 *                 equals the turns the component settled.
 * 9. deleted      (for the cards given as `deleted`) no card row, no sandbox alive with the card's
 *                 metadata, no token, no row of the card or its runs in any table, and no stored file
 *                 that no artifact names (deleted.ts).
 * 10. attempt     a card's `currentAttempt` is its current run's `attempt`, and is absent when the card has
 *                 no current run.
 *
 * Sandbox kills are asynchronous, so the checker re-evaluates until everything holds or `settleMs`
 * passes; only the final evaluation is counted.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { api } from "../../convex/component/_generated/api.js";
import type { Doc, Id } from "../../convex/component/_generated/dataModel.js";
import { RUN_TRANSITIONS } from "../../convex/model/machine.js";
import { everyTable, findLeaks, needles, type Needle } from "./secretScan.js";
import { evaluateDeleted, loadDeleted } from "./deleted.js";
import { COMPONENT_EVENT_SEQ_BASE } from "../../convex/shared/defaults.js";
import { DEFAULT_MAX_STEPS } from "../../convex/gateway/task.js";
import type { RunStatus } from "../../convex/shared/validators.js";

type TLike = {
  run<R>(f: (ctx: any) => Promise<R>): Promise<R>;
  query(ref: any, args: any): Promise<any>;
};

export type InvariantOptions = {
  /** Only these cards (default: every card). */
  cardIds?: string[];
  /** The sandboxes alive now, with their metadata. */
  live: () => Array<{ sandboxId: string; metadata: Record<string, string> }>;
  /** Events the component acknowledged, per session id (from the callback proxy). */
  acked?: (sessionId: string) => Iterable<number> | undefined;
  /** Values that must not be stored anywhere (provider and model keys), literal or encoded. */
  secrets?: string[];
  /** Session tokens seen on the wire (the callback proxy sees them all): looked for in their encoded forms too. */
  tokens?: () => Iterable<string>;
  /** Bodies the loopback model server received: no token or key may reach the model. */
  modelRequests?: () => string[];
  /** Captured logs (this process's console/stdout, the sandbox's command output). */
  logs?: () => string[];
  /** Also read every table of every component (the agent's threads and messages included) and every stored file. */
  everyTable?: boolean;
  /** How long after the agent phase ended a session's token may still be accepted. Default 5 s. */
  revokeGraceMs?: number;
  /** Leave this check out of the suite's counts (a test that breaks an invariant on purpose). */
  untallied?: boolean;
  /** The model server's own count of calls made for a run (a loopback server sees them all). */
  modelCalls?: (runId: string) => number | undefined;
  /** Slack past a deadline before a run counts as stuck. Default 5 s. */
  graceMs?: number;
  /** How long to wait for the eventual invariants (sandbox kills). Default 20 s. */
  settleMs?: number;
  /** Cards deleted in the scenario: nothing of them may remain once their deletion settled (invariant 9). */
  deleted?: string[];
};

export type InvariantReport = { checks: number; violations: string[]; runs: number; events: number; byInvariant: Record<string, number> };

const TERMINAL = new Set<RunStatus>(["succeeded", "failed", "canceled", "timed_out"]);

type CardData = {
  card: Doc<"cards">;
  runs: Array<{ run: Doc<"runs">; sessions: Doc<"sessions">[]; events: Doc<"events">[]; transitions: Doc<"transitions">[]; inbox: Doc<"inbox">[]; turns: Doc<"turns">[]; limits: { maxSteps: number; maxCostUsd?: number } }>;
  artifacts: Array<{ doc: Doc<"artifacts">; blobSha: string | null; text: string }>;
  cardTransitions: Doc<"transitions">[];
};

async function load(t: TLike, cardIds?: string[]): Promise<{ cards: CardData[]; runIds: string[]; provisionGraceMs: number }> {
  const provisionGraceMs: number = (await t.query(api.config.getConfig, {})).provisionGraceMs;
  return await t.run(async (ctx) => {
    const cards: Doc<"cards">[] = cardIds
      ? ((await Promise.all(cardIds.map((id) => ctx.db.get(id as Id<"cards">)))) as Array<Doc<"cards"> | null>).filter((c): c is Doc<"cards"> => c !== null)
      : await ctx.db.query("cards").collect();
    const out: CardData[] = [];
    for (const card of cards) {
      const runs = await ctx.db.query("runs").withIndex("by_card", (q: any) => q.eq("cardId", card._id)).collect();
      const transitions: Doc<"transitions">[] = await ctx.db.query("transitions").withIndex("by_card", (q: any) => q.eq("cardId", card._id)).collect();
      const arts: Doc<"artifacts">[] = await ctx.db.query("artifacts").withIndex("by_card", (q: any) => q.eq("cardId", card._id)).collect();
      const artifacts = [];
      for (const doc of arts) {
        const blob: Blob | null = await ctx.storage.get(doc.storageId);
        const bytes = blob ? Buffer.from(await blob.arrayBuffer()) : null;
        artifacts.push({ doc, blobSha: bytes ? createHash("sha256").update(bytes).digest("hex") : null, text: bytes ? bytes.toString("latin1") : "" });
      }
      out.push({
        card,
        artifacts,
        cardTransitions: transitions.filter((r) => r.entity === "card"),
        runs: await Promise.all(
          runs.map(async (run: Doc<"runs">) => ({
            run,
            sessions: await ctx.db.query("sessions").withIndex("by_run", (q: any) => q.eq("runId", run._id)).collect(),
            events: await ctx.db.query("events").withIndex("by_run_seq", (q: any) => q.eq("runId", run._id)).collect(),
            inbox: await ctx.db.query("inbox").withIndex("by_run_seq", (q: any) => q.eq("runId", run._id)).collect(),
            transitions: transitions.filter((r) => r.entity === "run" && r.runId === run._id),
            turns: await ctx.db.query("turns").withIndex("by_run_step", (q: any) => q.eq("runId", run._id)).collect(),
            limits: await ctx.db.get(run.stageId).then((stage: Doc<"stages"> | null) => {
              const l = { ...stage?.limits, ...run.raised };
              return { maxSteps: l.maxSteps ?? DEFAULT_MAX_STEPS, maxCostUsd: l.maxCostUsd };
            }),
          })),
        ),
      });
    }
    const runIds: string[] = (await ctx.db.query("runs").collect()).map((r: Doc<"runs">) => r._id as string);
    return { cards: out, runIds, provisionGraceMs };
  });
}

const AGENT_PHASE = new Set<string>(["queued", "provisioning", "running"]);

/** When the run left the agent phase (its first transition out of queued/provisioning/running), from the audit rows. */
function agentPhaseEnd(rows: Doc<"transitions">[]): { at: number; from: string; to: string } | undefined {
  const row = rows.find((r) => AGENT_PHASE.has(r.from) && !AGENT_PHASE.has(r.to));
  return row && { at: row._creationTime, from: row.from, to: row.to };
}

/**
 * The earliest moment by which the watchdog or the reaper must have ended an active run: its deadline;
 * for a running session, its last heartbeat + heartbeat timeout and its last activity + idle limit; for
 * a run not yet running, its queue time + the provision grace.
 */
export function stuckDue(run: Doc<"runs">, sessions: Doc<"sessions">[], provisionGraceMs: number): { at: number; what: string } {
  const limits: Array<{ at: number; what: string }> = [];
  if (run.deadline !== undefined) limits.push({ at: run.deadline, what: "deadline" });
  if (run.status === "queued" || run.status === "provisioning") limits.push({ at: run.queuedAt + provisionGraceMs, what: "provision grace" });
  const live = sessions.find((x) => x._id === run.sessionId) ?? sessions[sessions.length - 1];
  if (run.status === "running" && live && live.state === "running") {
    const beat = live.heartbeatAt ?? live.startedAt ?? live.intendedAt;
    limits.push({ at: beat + live.heartbeatTimeoutMs, what: `heartbeat timeout (last heartbeat ${new Date(beat).toISOString()}, timeout ${live.heartbeatTimeoutMs} ms)` });
    const active = live.lastActivityAt ?? live.startedAt ?? live.intendedAt;
    limits.push({ at: active + live.idleTimeoutMs, what: `idle limit (last activity ${new Date(active).toISOString()}, limit ${live.idleTimeoutMs} ms)` });
    if (live.deadline !== undefined) limits.push({ at: live.deadline, what: "session deadline" });
  }
  if (limits.length === 0) limits.push({ at: Number.POSITIVE_INFINITY, what: "deadline (none set)" });
  return limits.reduce((a, b) => (b.at < a.at ? b : a));
}

function secretNeedles(o: InvariantOptions): Needle[] {
  return needles([
    ...(o.secrets ?? []).map((value, i) => ({ label: `secret #${i + 1} (${value.slice(0, 6)}…)`, value })),
    ...[...(o.tokens?.() ?? [])].map((value) => ({ label: `the session token of ${value.split(".")[1] ?? "?"}`, value })),
  ]);
}

/**
 * The secrets invariant beyond the cards' own documents: every table of every component (when
 * `everyTable`), what the model server received, and the captured logs. One check per source.
 */
async function scanSources(t: TLike, o: InvariantOptions): Promise<{ checks: number; violations: string[] }> {
  const ns = secretNeedles(o);
  const violations: string[] = [];
  let checks = 0;
  const scan = (source: string, docs: Array<{ where: string; text: string }>) => {
    checks++;
    const found: string[] = [];
    for (const d of docs) for (const l of findLeaks(d.text, ns)) found.push(`${l} in ${d.where}`);
    if (found.length) violations.push(`[secrets] ${source}: ${found.slice(0, 20).join("; ")}${found.length > 20 ? ` (+${found.length - 20} more)` : ""}`);
  };
  if (o.everyTable) scan("every table", await everyTable(t));
  if (o.modelRequests) scan("model server", o.modelRequests().map((text, i) => ({ where: `request #${i + 1}`, text })));
  if (o.logs) scan("logs", o.logs().map((text, i) => ({ where: `log line ${i + 1}: ${JSON.stringify(text.slice(0, 80))}`, text })));
  return { checks, violations };
}

function parseCardState(s: string): { status: string; stage?: string } {
  const at = s.indexOf("@");
  return at < 0 ? { status: s } : { status: s.slice(0, at), stage: s.slice(at + 1) };
}

function evaluate(data: Awaited<ReturnType<typeof load>>, o: InvariantOptions, full: boolean): InvariantReport {
  const grace = o.graceMs ?? 5_000;
  const now = Date.now();
  const violations: string[] = [];
  const byInvariant: Record<string, number> = {};
  let checks = 0;
  const check = (invariant: string, ok: boolean, message: () => string) => {
    checks++;
    byInvariant[invariant] = (byInvariant[invariant] ?? 0) + 1;
    if (!ok) violations.push(`[${invariant}] ${message()}`);
  };
  const live = o.live();
  const ns = secretNeedles(o);
  const leaks = (text: string) => findLeaks(text, ns);
  let runs = 0;
  let events = 0;
  for (const { card, runs: cardRuns, artifacts, cardTransitions } of data.cards) {
    const cid = card._id;
    // 1. stuck (card)
    const current = cardRuns.find((r) => r.run._id === card.currentRunId)?.run;
    check("stuck", !(card.status === "queued" || card.status === "running") || (current !== undefined && (!TERMINAL.has(current.status) || (current.endedAt ?? now) + grace > now)), () =>
      `card ${cid} is ${card.status} but its run ${current?._id} ended ${current?.endedAt ? `${now - current.endedAt} ms ago` : "?"} (${current?.status})`);
    // 6. audit (card)
    {
      let cur: { status?: string; stage?: string } = {};
      let ok = true;
      let why = "";
      for (const row of cardTransitions) {
        const from = parseCardState(row.from);
        const to = parseCardState(row.to);
        if (cur.status !== undefined && from.status !== cur.status) {
          ok = false;
          why = `row ${row.from}→${row.to} does not start at ${cur.status}`;
        }
        if (from.stage !== undefined && cur.stage !== undefined && from.stage !== cur.stage) {
          ok = false;
          why = `row ${row.from}→${row.to} starts at another stage than ${cur.stage}`;
        }
        cur = { status: to.status, stage: to.stage ?? cur.stage };
      }
      if (cardTransitions.length === 0) {
        if (card.status !== "idle" && card.status !== "done") {
          ok = false;
          why = `no rows but status ${card.status}`;
        }
      } else if (cur.status !== card.status || (cur.stage !== undefined && cur.stage !== card.stageId)) {
        ok = false;
        why = `rows end at ${cur.status}@${cur.stage ?? "?"}, card is ${card.status}@${card.stageId}`;
      }
      check("audit", ok, () => `card ${cid}: ${why}`);
    }
    // 10. attempt (a current run already purged, while the card is being deleted, is not compared)
    if (card.currentRunId === undefined || current !== undefined) {
      check("attempt", card.currentAttempt === current?.attempt, () =>
        current === undefined
          ? `card ${cid} has currentAttempt ${card.currentAttempt} but no current run`
          : `card ${cid} has currentAttempt ${card.currentAttempt ?? "absent"} but its current run ${current._id} is attempt ${current.attempt}`);
    }
    // 3. artifacts
    for (const a of artifacts) {
      check("artifacts", a.blobSha !== null && a.blobSha === a.doc.sha256, () =>
        `artifact ${a.doc.name} v${a.doc.version} of run ${a.doc.runId}: ${a.blobSha === null ? "blob missing" : `blob hashes to ${a.blobSha}, row says ${a.doc.sha256}`}`);
    }
    // 7. secrets (one check per card, over every document of the card)
    {
      const docs = [card, ...cardTransitions, ...artifacts.map((a) => a.doc), ...cardRuns.flatMap((r) => [r.run, ...r.sessions, ...r.events, ...r.inbox, ...r.transitions])];
      const found = new Set<string>();
      for (const d of docs) for (const l of leaks(JSON.stringify(d))) found.add(`${l} in ${(d as { _id: string })._id}`);
      for (const a of artifacts) for (const l of leaks(a.text)) found.add(`${l} in the bytes of artifact ${a.doc.name}`);
      check("secrets", found.size === 0, () => `card ${cid}: ${[...found].join("; ")}`);
    }
    for (const entry of cardRuns) {
      const { run, sessions, events: evs, transitions } = entry;
      runs++;
      events += evs.length;
      const rid = run._id;
      const terminal = TERMINAL.has(run.status);
      // 1. stuck (run): past the earliest limit the watchdog or the reaper should have acted on.
      if (!terminal) {
        const due = stuckDue(run, sessions, data.provisionGraceMs);
        check("stuck", now <= due.at + grace, () =>
          `card ${cid} run ${rid} is still ${run.status} ${now - due.at - grace} ms past its ${due.what} (${new Date(due.at).toISOString()}) + grace ${grace} ms`);
      }
      // 2. sandboxes
      if (terminal) {
        const alive = live.filter((b) => b.metadata["lakitu.run"] === rid);
        check("sandboxes", alive.length === 0, () => `run ${rid} is ${run.status} but sandbox(es) ${alive.map((b) => b.sandboxId).join(", ")} are alive`);
      }
      // 5. tokens: revoked when the agent phase ended (not only once the run is over).
      const agentEnd = agentPhaseEnd(transitions);
      if (terminal || agentEnd !== undefined) {
        const armed = sessions.filter((s) => s.tokenHash !== undefined);
        const revokeGrace = o.revokeGraceMs ?? 5_000;
        const overdue = agentEnd === undefined ? armed : armed.filter(() => now > agentEnd.at + revokeGrace);
        check("tokens", overdue.length === 0, () =>
          `card ${cid} run ${rid} is ${run.status}${agentEnd ? ` (agent phase ended ${agentEnd.from}→${agentEnd.to} ${now - agentEnd.at} ms ago)` : ""} but session(s) ${overdue.map((s) => `${s._id} (${s.state})`).join(", ")} still hold a token`);
        if (agentEnd !== undefined) {
          const late = sessions.filter((s) => s.revokedAt !== undefined && s.revokedAt > agentEnd.at + revokeGrace);
          check("tokens", late.length === 0, () =>
            `card ${cid} run ${rid}: session(s) ${late.map((s) => `${s._id} revoked ${s.revokedAt! - agentEnd.at} ms`).join(", ")} after the agent phase ended (limit ${revokeGrace} ms)`);
        }
      }
      // 4. events
      const runtimeSeqs = evs.filter((e) => e.seq < COMPONENT_EVENT_SEQ_BASE).map((e) => e.seq);
      const componentSeqs = evs.filter((e) => e.seq >= COMPONENT_EVENT_SEQ_BASE).map((e) => e.seq);
      const all = evs.map((e) => e.seq);
      check("events", new Set(all).size === all.length, () => `run ${rid} stores ${all.length - new Set(all).size} duplicate (run, seq) pair(s)`);
      check("events", runtimeSeqs.every((s, i) => s === i), () => {
        const gap = runtimeSeqs.findIndex((s, i) => s !== i);
        return `run ${rid}: runtime events have a gap at seq ${gap} (found ${runtimeSeqs[gap]}; ${runtimeSeqs.length} stored)`;
      });
      if (componentSeqs.length) {
        check("events", componentSeqs.every((s, i) => s === COMPONENT_EVENT_SEQ_BASE + i), () => `run ${rid}: component events are not ${COMPONENT_EVENT_SEQ_BASE}.. without gap: ${componentSeqs.join(",")}`);
      }
      if (o.acked) {
        const stored = new Set(runtimeSeqs);
        const missing = sessions.flatMap((s) => [...(o.acked!(s._id) ?? [])].filter((seq) => !stored.has(seq)));
        check("events", missing.length === 0, () => `run ${rid}: ${missing.length} acknowledged event(s) are not stored (seqs ${missing.slice(0, 10).join(",")})`);
      }
      // 8. budget
      {
        const { turns, limits } = entry;
        const counted = turns.filter((x) => x.status !== "released");
        check("budget", counted.length <= limits.maxSteps, () => `run ${rid} made ${counted.length} model turns; its maxSteps is ${limits.maxSteps}`);
        check("budget", turns.filter((x) => x.status === "reserved").length <= 1, () => `run ${rid} has ${turns.filter((x) => x.status === "reserved").length} model turns in flight at once`);
        if (limits.maxCostUsd !== undefined) {
          check("budget", run.usage.costUsd <= limits.maxCostUsd + 1e-9, () => `run ${rid} spent $${run.usage.costUsd} past its maxCostUsd $${limits.maxCostUsd}`);
        }
        const calls = o.modelCalls?.(rid);
        if (calls !== undefined) {
          const settled = turns.filter((x) => x.status === "settled").length;
          check("budget", calls <= limits.maxSteps && calls === settled, () => `run ${rid}: the model server counted ${calls} call(s); the component settled ${settled} turn(s) (maxSteps ${limits.maxSteps})`);
        }
      }
      // 3. artifacts of an accepted completion
      if (run.completion && run.status !== "canceled") {
        for (const m of run.completion.manifest) {
          const stored = artifacts.some((a) => a.doc.runId === rid && a.doc.name === m.name && (m.sha256 === undefined || a.doc.sha256 === m.sha256));
          check("artifacts", stored, () => `run ${rid}: the completion lists ${m.name} (${m.sha256?.slice(0, 12)}) but no such artifact is stored`);
        }
      }
      // 6. audit (run)
      {
        let ok = transitions.length > 0 && transitions[0].from === "none" && transitions[0].to === "queued";
        let why = ok ? "" : `first row is ${transitions[0]?.from}→${transitions[0]?.to}`;
        for (let i = 1; i < transitions.length && ok; i++) {
          const prev = transitions[i - 1];
          const row = transitions[i];
          if (row.from !== prev.to) {
            ok = false;
            why = `row ${i} starts at ${row.from}, previous ended at ${prev.to}`;
          } else if (!(RUN_TRANSITIONS[row.from as RunStatus] ?? []).includes(row.to as RunStatus)) {
            ok = false;
            why = `row ${i} ${row.from}→${row.to} is not a transition of the machine`;
          }
        }
        const last = transitions[transitions.length - 1]?.to;
        if (ok && last !== run.status) {
          ok = false;
          why = `rows end at ${last}, run is ${run.status}`;
        }
        check("audit", ok, () => `run ${rid}: ${why} (${transitions.map((r) => `${r.from}→${r.to}`).join(", ")})`);
      }
    }
  }
  if (full) {
    // 2. sandboxes seen from the host: each belongs to an existing run that is still active.
    const active = new Set(data.cards.flatMap((c) => c.runs.filter((r) => !TERMINAL.has(r.run.status)).map((r) => r.run._id as string)));
    for (const b of live) {
      const runId = b.metadata["lakitu.run"];
      if (runId === undefined) continue;
      check("sandboxes", active.has(runId), () => `sandbox ${b.sandboxId} is alive for ${data.runIds.includes(runId) ? "ended" : "unknown"} run ${runId}`);
    }
  }
  return { checks, violations, runs, events, byInvariant };
}

// ---------------------------------------------------------------------------------------------
// the tally: per test file, then the whole suite

const tally = { scenarios: 0, checks: 0, violations: 0, runs: new Map<string, number>(), byInvariant: {} as Record<string, number> };

/**
 * Checks every invariant (scoped to `cardIds` if given; `full` also checks every live sandbox against
 * the runs). Retries until they hold or `settleMs` passes; counts the final evaluation.
 */
export async function checkInvariants(t: TLike, o: InvariantOptions, full = false): Promise<InvariantReport> {
  const end = Date.now() + (o.settleMs ?? 20_000);
  let report: InvariantReport;
  let data: Awaited<ReturnType<typeof load>>;
  for (;;) {
    data = await load(t, o.cardIds);
    report = evaluate(data, o, full);
    if (o.deleted?.length) addDeleted(report, await loadDeleted(t, o.deleted), o.live());
    if (report.violations.length === 0 || Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  // Leaks do not settle: the extra sources are read once, after the eventual invariants settled.
  const extra = await scanSources(t, o);
  if (extra.checks) {
    report.checks += extra.checks;
    report.violations.push(...extra.violations);
    report.byInvariant.secrets = (report.byInvariant.secrets ?? 0) + extra.checks;
  }
  if (o.untallied) return report;
  tally.checks += report.checks;
  tally.violations += report.violations.length;
  for (const [k, v] of Object.entries(report.byInvariant)) tally.byInvariant[k] = (tally.byInvariant[k] ?? 0) + v;
  const tag = deploymentTag(t);
  for (const c of data.cards) for (const r of c.runs) tally.runs.set(`${tag}:${r.run._id}`, r.events.length);
  return report;
}

function addDeleted(report: InvariantReport, data: Awaited<ReturnType<typeof loadDeleted>>, live: ReturnType<InvariantOptions["live"]>): void {
  evaluateDeleted(data, live, (invariant, ok, message) => {
    report.checks++;
    report.byInvariant[invariant] = (report.byInvariant[invariant] ?? 0) + 1;
    if (!ok) report.violations.push(`[${invariant}] ${message()}`);
  });
}

// Ids are only unique within one convex-test instance; runs are counted per instance.
const tags = new WeakMap<object, number>();
let nextTag = 0;
function deploymentTag(t: object): number {
  let tag = tags.get(t);
  if (tag === undefined) tags.set(t, (tag = nextTag++));
  return tag;
}

/**
 * Adds the checks of a scenario that ran in another process (test/faults/volume.ts): its scoped report
 * counts as one scenario; `runs` are its runs with their event counts.
 */
export function mergeReport(reports: InvariantReport[], runs: Record<string, number>, scenarios = 1): void {
  tally.scenarios += scenarios;
  for (const r of reports) {
    tally.checks += r.checks;
    tally.violations += r.violations.length;
    for (const [k, v] of Object.entries(r.byInvariant)) tally.byInvariant[k] = (tally.byInvariant[k] ?? 0) + v;
  }
  const tag = nextTag++;
  for (const [runId, events] of Object.entries(runs)) tally.runs.set(`${tag}:${runId}`, events);
}

/** Counts a scenario (call once per scenario). */
export function scenario(): void {
  tally.scenarios++;
}

type FileTally = { file: string; scenarios: number; runs: number; events: number; checks: number; violations: number; byInvariant: Record<string, number>; ms: number };
const started = Date.now();
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Prints this file's counts, and the suite's totals once every test/faults/*.test.ts file of this
 * vitest run has reported (files run one after another or in parallel workers of the same run).
 */
export function reportFile(fileUrl: string): void {
  const file = basename(fileURLToPath(fileUrl));
  const mine: FileTally = {
    file,
    scenarios: tally.scenarios,
    runs: tally.runs.size,
    events: [...tally.runs.values()].reduce((a, b) => a + b, 0),
    checks: tally.checks,
    violations: tally.violations,
    byInvariant: tally.byInvariant,
    ms: Date.now() - started,
  };
  const line = (f: Omit<FileTally, "byInvariant" | "ms"> & { ms?: number }) =>
    `${f.file.padEnd(22)} scenarios ${String(f.scenarios).padStart(3)}  runs ${String(f.runs).padStart(4)}  events ${String(f.events).padStart(6)}  invariant checks ${String(f.checks).padStart(5)}  violations ${f.violations}${f.ms !== undefined ? `  (${(f.ms / 1000).toFixed(1)} s)` : ""}`;
  console.log(`fault suite · ${line(mine)}`);
  const dir = join(tmpdir(), `lakitu-faults-${process.ppid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${file}.json`), JSON.stringify(mine));
  const expected = readdirSync(here).filter((f) => f.endsWith(".test.ts"));
  const done = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as FileTally);
  if (!expected.every((f) => done.some((d) => d.file === f))) return;
  const sum = (k: "scenarios" | "runs" | "events" | "checks" | "violations") => done.reduce((a, d) => a + d[k], 0);
  const by: Record<string, number> = {};
  for (const d of done) for (const [k, v] of Object.entries(d.byInvariant)) by[k] = (by[k] ?? 0) + v;
  console.log(
    [
      "",
      "fault-injection suite — totals",
      ...done.sort((a, b) => a.file.localeCompare(b.file)).map((d) => `  ${line(d)}`),
      `  ${line({ file: "total", scenarios: sum("scenarios"), runs: sum("runs"), events: sum("events"), checks: sum("checks"), violations: sum("violations") })}`,
      `  checks by invariant: ${Object.entries(by).map(([k, v]) => `${k} ${v}`).join(", ")}`,
      "",
    ].join("\n"),
  );
  rmSync(dir, { recursive: true, force: true });
}
