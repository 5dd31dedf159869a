/**
 * Watches a deployment while a scenario runs (the end-of-scenario checker sees only the final state):
 *
 * - stuck: every tick, each active run is held against the earliest limit the watchdog or the reaper
 *   acts on (`stuckDue`: deadline, heartbeat timeout, idle limit, provision grace); a run past it +
 *   grace is reported with its card, id, status and how far past it is.
 * - tokens: as soon as a run has left the agent phase (its first transition out of
 *   queued/provisioning/running), its session token — as seen on the wire by the callback proxy — is
 *   presented to the component's own /heartbeat route; it must be refused with 401 within
 *   `revokeGraceMs` of the moment the phase ended.
 *
 * Violations are kept per run (the latest description wins), tagged with the card so a scenario's
 * check can take its own.
 */
import type { Doc } from "../../convex/component/_generated/dataModel.js";
import { ACTIVE_RUN_STATUSES } from "../../convex/shared/validators.js";
import { api } from "../../convex/component/_generated/api.js";
import { stuckDue } from "./invariants.js";

type TLike = { run<R>(f: (ctx: any) => Promise<R>): Promise<R>; query(ref: any, args: any): Promise<any> };
export type WireToken = { token: string; generation: number };

export type MonitorOptions = {
  /** The component's base URL (the deployment, not the proxy): where tokens are probed. */
  url: string;
  /** Tokens seen on the wire, by session id. */
  tokens: () => Map<string, WireToken>;
  /** Slack past a limit before a run counts as stuck. Default 10 s (a loaded machine delays the watchdog). */
  graceMs?: number;
  /** How long after the agent phase ended a token may still be accepted. Default 5 s. */
  revokeGraceMs?: number;
  everyMs?: number;
};

const AGENT_PHASE = new Set<string>(["queued", "provisioning", "running"]);

export class ScenarioMonitor {
  private readonly found = new Map<string, { cardId: string; message: string }>();
  private readonly revoked = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  ticks = 0;
  probes = 0;

  constructor(
    private readonly t: TLike,
    private readonly o: MonitorOptions,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick()).catch(() => {});
    }, this.o.everyMs ?? 500);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** One evaluation now (also what the timer does). */
  async tick(): Promise<void> {
    this.ticks++;
    await this.checkStuck();
    await this.checkTokens();
  }

  /** True once the session's token was refused (401) after its run left the agent phase. */
  confirmedRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  /** Violations seen so far, for these cards (default: all). */
  violations(cardIds?: string[]): string[] {
    return [...this.found.values()].filter((v) => !cardIds || cardIds.includes(v.cardId)).map((v) => v.message);
  }

  private async checkStuck() {
    const grace = this.o.graceMs ?? 10_000;
    const provisionGraceMs: number = (await this.t.query(api.config.getConfig, {})).provisionGraceMs;
    const rows = await this.t.run(async (ctx: any) => {
      const out: Array<{ run: Doc<"runs">; sessions: Doc<"sessions">[] }> = [];
      for (const status of ACTIVE_RUN_STATUSES) {
        for (const run of await ctx.db.query("runs").withIndex("by_status", (q: any) => q.eq("status", status)).collect()) {
          out.push({ run, sessions: await ctx.db.query("sessions").withIndex("by_run", (q: any) => q.eq("runId", run._id)).collect() });
        }
      }
      return { out, provisionGraceMs };
    });
    const now = Date.now();
    for (const { run, sessions } of rows.out) {
      const due = stuckDue(run, sessions, rows.provisionGraceMs);
      if (now > due.at + grace) {
        this.found.set(`stuck:${run._id}`, {
          cardId: run.cardId,
          message: `[stuck] card ${run.cardId} run ${run._id} was still ${run.status} ${now - due.at - grace} ms past its ${due.what} (${new Date(due.at).toISOString()}) + grace ${grace} ms (seen during the scenario)`,
        });
      }
    }
  }

  private async checkTokens() {
    const limit = this.o.revokeGraceMs ?? 5_000;
    const pending = [...this.o.tokens()].filter(([sessionId]) => !this.revoked.has(sessionId));
    if (!pending.length) return;
    // One transaction per tick for every pending session: per-session transactions, twice a second,
    // starved a 100-run scenario of the deployment's time.
    const ended = await this.t.run(async (ctx: any) => {
      const out: Array<{ sessionId: string; runId: string; cardId: string; at: number; to: string }> = [];
      for (const [sessionId] of pending) {
        const id = ctx.db.normalizeId("sessions", sessionId);
        const s: Doc<"sessions"> | null = id ? await ctx.db.get(id) : null;
        if (!s) continue;
        const run: Doc<"runs"> | null = await ctx.db.get(s.runId);
        if (!run || AGENT_PHASE.has(run.status)) continue;
        const rows: Doc<"transitions">[] = await ctx.db.query("transitions").withIndex("by_run", (q: any) => q.eq("runId", s.runId)).collect();
        const end = rows.find((r) => r.entity === "run" && AGENT_PHASE.has(r.from) && !AGENT_PHASE.has(r.to));
        if (end) out.push({ sessionId, runId: s.runId as string, cardId: s.cardId as string, at: end._creationTime, to: end.to });
      }
      return out;
    });
    const wires = this.o.tokens();
    for (const info of ended) {
      const wire = wires.get(info.sessionId);
      if (!wire) continue;
      this.probes++;
      const status = await probe(this.o.url, wire).catch(() => undefined);
      if (status === 401) {
        this.revoked.add(info.sessionId);
        continue;
      }
      const late = Date.now() - info.at;
      if (status !== undefined && late > limit) {
        this.found.set(`tokens:${info.sessionId}`, {
          cardId: info.cardId,
          message: `[tokens] card ${info.cardId} run ${info.runId}: the token of session ${info.sessionId} was still accepted (HTTP ${status}) ${late} ms after the agent phase ended (→${info.to}); limit ${limit} ms`,
        });
      }
    }
  }
}

/** Presents a token to the component's /heartbeat route; the HTTP status it got. */
export async function probe(url: string, wire: WireToken): Promise<number> {
  const res = await fetch(`${url}/heartbeat`, {
    method: "POST",
    headers: { authorization: `Bearer ${wire.token}`, "x-lakitu-generation": String(wire.generation), "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}
