/**
 * Fault-injection harness: the embedded default (component on convex-test with real timers, local
 * bubblewrap sandboxes, the E2B provider, the runtime, the scripted model) plus the means to break it:
 *
 * - `CallbackProxy`: a loopback HTTP proxy between the runtime and the component (the run's
 *   `callbackUrl`), misbehaving per profile and route: refuse, reset, lose the answer, delay, duplicate,
 *   split-and-reorder, replay later, hold until released, go down and come back.
 * - `E2bFaultProxy`: a loopback HTTP proxy between the E2B SDK (in the provider action) and the local
 *   sandbox host, answering 429/5xx on create, on start (the runtime command), on kill or on status, or
 *   holding a create until released.
 * - `actionCalls`: a hook on convex-test's syscall layer that makes an action's `ctx.runMutation(...)`
 *   fail (before the mutation runs, or after it committed: the answer is lost) or wait, as a deployment
 *   restart or a transient failure does to a running action.
 */
import http from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { api } from "../../convex/component/_generated/api.js";
import { configureEmbeddedProvider } from "../../cli/embedded/provider.js";
import { startLocalStack, type LocalStack } from "../../cli/embedded/stack.js";
import { startEmbeddedDeployment } from "../../cli/embedded/deployment.js";
import { testProvider } from "../../convex/testkit/provider.js";
import { checkInvariants, scenario, type InvariantOptions } from "./invariants.js";
import { ScenarioMonitor, type WireToken } from "./monitor.js";
import { captureLogs } from "./secretScan.js";
import { describeViolation, type LimitViolation } from "../../convex/testkit/limits.js";
import { listAll } from "../../convex/testing/listAll.js";

export { api };
export type T = LocalStack["deployment"]["t"];

// ---------------------------------------------------------------------------------------------
// waiting on real time

export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type Gate = { promise: Promise<void>; open(): void; opened: boolean };
export function gate(): Gate {
  let open!: () => void;
  const g = { opened: false } as Gate;
  g.promise = new Promise<void>((r) => (open = r));
  g.open = () => {
    g.opened = true;
    open();
  };
  return g;
}

// ---------------------------------------------------------------------------------------------
// the stack

export type FaultStack = {
  s: LocalStack;
  t: T;
  /** The deployment's Convex-limits checker; its violations count as invariant violations. */
  limits: { readonly violations: ReadonlyArray<LimitViolation> };
  callbacks: CallbackProxy;
  e2b: E2bFaultProxy | undefined;
  providerHandle: string;
  /** Starts a run; its runtime calls back through the callback proxy under `profile`. */
  runCard(cardId: string, profile?: string): Promise<{ runId: string; workflowId: string }>;
  /** The sandboxes the host has now (id and metadata). */
  live(): Array<{ sandboxId: string; metadata: Record<string, string> }>;
  /** Reaper ticks so far (the app's cron, every `reapEveryMs`). */
  reaps: number;
  /** Checks stuck runs and token revocation while scenarios run (see monitor.ts). */
  monitor: ScenarioMonitor;
  /** What this process logged (console, stdout, stderr) since the stack started: scanned for secrets. */
  logs: string[];
  close(): Promise<void>;
};

export type FaultStackOptions = {
  heartbeatTimeoutMs?: number;
  maxSandboxes?: number;
  /** Put the E2B fault proxy between the provider and the sandbox host. */
  e2bProxy?: boolean;
  /** The app's reaper cron; 0 = none. Default 1000 ms. */
  reapEveryMs?: number;
  /** Leave the provider's key out of its options so it reads E2B_API_KEY from the environment. */
  keyFromEnv?: boolean;
  /** The in-scenario monitor's grace past a limit before a run counts as stuck. Default 10 s. */
  stuckGraceMs?: number;
  /** Per-sandbox resource limits for the local host (bytes, processes), handed to startLocalStack as `limits`. */
  hostLimits?: { memoryBytes?: number; diskBytes?: number; shmBytes?: number; maxProcesses?: number };
};

export async function faultStack(opts: FaultStackOptions = {}): Promise<FaultStack> {
  // The proxy first: it is where the sandboxes' component bridge forwards (they have no other network).
  const callbacks = await CallbackProxy.start();
  const s = await startLocalStack({
    warn: () => {},
    maxSandboxes: opts.maxSandboxes,
    componentUrl: callbacks.url,
    ...(opts.hostLimits ? { limits: opts.hostLimits } : {}),
  });
  const { t, url, providerHandle } = s.deployment;
  callbacks.target = url;
  let e2b: E2bFaultProxy | undefined;
  if (opts.e2bProxy || opts.keyFromEnv) {
    if (opts.e2bProxy) e2b = await E2bFaultProxy.start(s.host.url);
    const main = s.host.isolation === "bwrap" ? "/opt/lakitu/runtime/main.js" : join(s.runtimeDir, "main.js");
    if (opts.keyFromEnv) process.env.E2B_API_KEY = s.host.apiKey;
    configureEmbeddedProvider({
      ...(opts.keyFromEnv ? {} : { apiKey: s.host.apiKey }),
      template: "lakitu",
      command: `${process.execPath} ${main}`,
      connection: { apiUrl: e2b?.url ?? s.host.url, sandboxUrl: e2b?.url ?? s.host.url },
      // A host sharing its network refuses network rules (see cli/embedded/stack.ts).
      ...(s.host.network === "shared" ? { network: "open" as const } : {}),
    });
  }
  await t.mutation(api.config.configure, { heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 3_000 });
  await actionCalls.install();
  const monitor = new ScenarioMonitor(t, { url, tokens: () => callbacks.tokens, graceMs: opts.stuckGraceMs }).start();
  const logs = captureLogs();
  const stack: FaultStack = {
    s,
    t,
    limits: s.deployment.limits,
    callbacks,
    e2b,
    providerHandle,
    monitor,
    logs: logs.lines,
    reaps: 0,
    runCard: async (cardId, profile = "plain") => await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: `${callbacks.url}/${profile}` }),
    live: () => s.host.list().map((b) => ({ sandboxId: b.sandboxId, metadata: b.metadata })),
    close: async () => {
      if (timer) clearInterval(timer);
      logs.stop();
      await monitor.stop();
      await reaping;
      await callbacks.close();
      await s.close();
      await e2b?.close();
    },
  };
  let reaping: Promise<unknown> = Promise.resolve();
  const reapEveryMs = opts.reapEveryMs ?? 1_000;
  const timer =
    reapEveryMs > 0
      ? setInterval(() => {
          reaping = reaping.then(() => t.mutation(api.reaper.reap, {}).then(() => stack.reaps++, () => {}));
        }, reapEveryMs)
      : undefined;
  timer?.unref();
  return stack;
}

/**
 * The embedded deployment with the test provider (sandboxes in memory: the "runtime" is the test,
 * speaking the real HTTP protocol with the token the provider was given) and the callback proxy.
 */
export async function simStack(o: { heartbeatTimeoutMs?: number; stuckGraceMs?: number } = {}) {
  testProvider.reset();
  const d = await startEmbeddedDeployment({ providerModule: () => import("../../convex/testkit/provider.js") });
  const callbacks = await CallbackProxy.start(d.url);
  await d.t.mutation(api.config.configure, { heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 60_000 });
  const monitor = new ScenarioMonitor(d.t, { url: d.url, tokens: () => callbacks.tokens, graceMs: o.stuckGraceMs }).start();
  const logs = captureLogs();
  return {
    t: d.t as T,
    url: d.url,
    limits: d.limits,
    callbacks,
    monitor,
    logs: logs.lines,
    provider: testProvider,
    live: () => testProvider.alive().map((b) => ({ sandboxId: b.sandboxId, metadata: b.metadata })),
    runCard: async (cardId: string, profile = "plain") =>
      await d.t.mutation(api.runs.runCard, { cardId, providerHandle: d.providerHandle, callbackUrl: `${callbacks.url}/${profile}` }),
    /** The session environment the provider was given for this run, once its sandbox exists. */
    envOf: async (runId: string, ms = 60_000) => {
      let env: Record<string, string> | undefined;
      await waitFor(`a sandbox for run ${runId}`, () => (env = testProvider.alive().find((b) => b.metadata["lakitu.run"] === runId)?.envs) !== undefined, ms, 20);
      return env!;
    },
    close: async () => {
      logs.stop();
      await monitor.stop();
      await callbacks.close();
      await d.close();
    },
  };
}
export type SimStack = Awaited<ReturnType<typeof simStack>>;

/** Two stages (Work → Done) on a new board; Work must produce report.md. */
export async function board(
  t: T,
  name: string,
  o: { maxAttempts?: number; maxDurationMs?: number; idleTimeoutMs?: number; deliverables?: Array<{ name: string; type: "markdown" | "json" | "csv" | "text" }>; model?: string } = {},
) {
  const { boardId, stageIds } = await t.mutation(api.boards.createBoard, {
    name,
    stages: [
      {
        name: "Work",
        kind: "agent",
        goals: ["Write the report"],
        deliverables: o.deliverables ?? [{ name: "report.md", type: "markdown" }],
        limits: { maxAttempts: o.maxAttempts ?? 2, ...(o.maxDurationMs ? { maxDurationMs: o.maxDurationMs } : {}), ...(o.idleTimeoutMs ? { idleTimeoutMs: o.idleTimeoutMs } : {}) },
        ...(o.model ? { model: o.model } : {}),
      },
      { name: "Done", kind: "done" },
    ],
  });
  return { boardId, stageIds };
}

export async function addCard(t: T, boardId: string, title: string, context?: Record<string, string>) {
  return await t.mutation(api.cards.addCard, { boardId, title, ...(context ? { context } : {}) });
}

export async function card(t: T, cardId: string) {
  return (await t.query(api.cards.getCard, { cardId }))!;
}
export async function run(t: T, runId: string) {
  return (await t.query(api.runs.getRun, { runId }))!;
}
/** Runs of a card, oldest first, each whole (the list has summaries). */
export async function runsOf(t: T, cardId: string) {
  const runs = (await listAll(t, api.runs.listRuns, { cardId })).reverse();
  return await Promise.all(runs.map(async (r) => await run(t, r.runId)));
}
export async function transitionsOf(t: T, cardId: string) {
  return (await listAll(t, api.runs.listTransitions, { cardId })).reverse();
}
/** The status a run was in when `source` moved it to `to` (from the audit log). */
export async function movedFrom(t: T, cardId: string, runId: string, to: string) {
  return (await transitionsOf(t, cardId)).find((r) => r.entity === "run" && r.runId === runId && r.to === to)?.from;
}

const SETTLED = new Set(["done", "blocked", "idle", "error", "awaiting_review"]);
/** Waits until the card rests (done, blocked, idle, error or awaiting review) with no active run. */
export async function settle(t: T, cardId: string, ms = 60_000) {
  await waitFor(`card ${cardId} to settle`, async () => {
    const c = await card(t, cardId);
    if (!SETTLED.has(c.status)) return false;
    const runs = await runsOf(t, cardId);
    return runs.every((r) => ["succeeded", "failed", "canceled", "timed_out"].includes(r.status));
  }, ms, 100);
  return await card(t, cardId);
}

export async function firstEvent(t: T, runId: string, kind: string, ms = 30_000) {
  await waitFor(`run ${runId} to emit a ${kind} event`, async () => (await listAll(t, api.events.listEvents, { runId })).some((e) => e.kind === kind), ms);
}

/** Host pids of the runtime process (node …/main.js) of the run's sandbox. */
export function runtimePids(s: LocalStack, runId: string): number[] {
  const box = s.host.list().find((b) => b.metadata["lakitu.run"] === runId);
  if (!box) return [];
  return box.pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((a) => a.endsWith("main.js")) && readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(process.execPath);
    } catch {
      return false;
    }
  });
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// the callback proxy (runtime → component)

export type Route = "task" | "llm" | "ksa" | "events" | "heartbeat" | "inbox" | "complete" | "artifacts";
export type Fault =
  | { kind: "forward" }
  /** Answer `status` without forwarding: the request never reached the component. */
  | { kind: "refuse"; status: number }
  /** Close the connection without forwarding. */
  | { kind: "reset" }
  /** Forward, then lose the answer (reset, or answer `status`): the component did the work. */
  | { kind: "lose"; status?: number }
  /** Forward after `ms`. */
  | { kind: "delay"; ms: number }
  /** Forward twice at once; answer with the first answer. */
  | { kind: "duplicate" }
  /** Events only: forward the batch as two requests, the second half first. */
  | { kind: "split" }
  /** Forward now, and a stale copy again `afterMs` later. */
  | { kind: "replay"; afterMs: number }
  /** Wait until the gate opens, then forward. */
  | { kind: "hold"; gate: Gate };

export type Request = { profile: string; route: Route; n: number; sessionId: string; body: Buffer; search: string; headers: Record<string, string> };
export type Answer = { status: number; body: Buffer; contentType: string };
export type Script = (r: Request) => Fault;
/** Called with each answer the component gave to a request of the profile (before it goes back). */
export type Tap = (r: Request, a: Answer) => Promise<void> | void;

const FORWARD: Fault = { kind: "forward" };

export class CallbackProxy {
  readonly url: string;
  private scripts = new Map<string, Script>();
  private taps = new Map<string, Tap>();
  private counters = new Map<string, number>();
  /** Seqs of events the component acknowledged (2xx), per session. */
  readonly acked = new Map<string, Set<number>>();
  /** The token (and generation) each session presented, by session id. */
  readonly tokens = new Map<string, WireToken>();
  /** Faults applied, by kind. */
  readonly applied: Record<string, number> = {};
  requests = 0;
  private downUntil = 0;
  private profileDown = new Map<string, number>();
  private pending = new Set<Promise<unknown>>();

  private constructor(
    private readonly server: http.Server,
    /** The component's route prefix; set once the deployment is up (the proxy starts first). */
    public target: string,
    private readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(target = ""): Promise<CallbackProxy> {
    let proxy!: CallbackProxy;
    const server = http.createServer((req, res) => void proxy.handle(req, res));
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    proxy = new CallbackProxy(server, target, (server.address() as { port: number }).port);
    return proxy;
  }

  script(profile: string, s: Script, tap?: Tap): string {
    this.scripts.set(profile, s);
    if (tap) this.taps.set(profile, tap);
    return profile;
  }

  ackedOf(sessionId: string): Set<number> {
    let s = this.acked.get(sessionId);
    if (!s) this.acked.set(sessionId, (s = new Set()));
    return s;
  }

  /** Every connection (of `profile`, or all) is reset for `ms`: the deployment restarting. */
  down(ms: number, profile?: string) {
    if (profile === undefined) {
      this.downUntil = Date.now() + ms;
      this.server.closeAllConnections();
    } else this.profileDown.set(profile, Date.now() + ms);
  }

  private count(kind: string) {
    this.applied[kind] = (this.applied[kind] ?? 0) + 1;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    this.requests++;
    if (Date.now() < this.downUntil) {
      this.count("down");
      req.socket.destroy();
      return;
    }
    const u = new URL(req.url ?? "/", "http://x");
    const [, profile, route] = u.pathname.split("/");
    if (Date.now() < (this.profileDown.get(profile) ?? 0)) {
      this.count("down");
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const k of ["authorization", "x-lakitu-generation", "content-type", "x-lakitu-sha256"]) {
      const v = req.headers[k];
      if (typeof v === "string") headers[k] = v;
    }
    const sessionId = /^Bearer lkt\.([^.]+)\./.exec(headers.authorization ?? "")?.[1] ?? "?";
    const bearer = /^Bearer\s+(\S+)$/.exec(headers.authorization ?? "")?.[1];
    const generation = Number(headers["x-lakitu-generation"]);
    if (bearer && sessionId !== "?" && Number.isInteger(generation) && !this.tokens.has(sessionId)) this.tokens.set(sessionId, { token: bearer, generation });
    const key = `${profile}/${sessionId}/${route}`;
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    const r: Request = { profile, route: route as Route, n, sessionId, body, search: u.search, headers };
    const fault = this.scripts.get(profile)?.(r) ?? FORWARD;
    if (fault.kind !== "forward") this.count(fault.kind);
    const reply = async (a: Answer) => {
      await this.taps.get(profile)?.(r, a);
      if (!res.writableEnded && !res.destroyed) {
        res.writeHead(a.status, { "content-type": a.contentType });
        res.end(a.body);
      }
    };
    try {
      switch (fault.kind) {
        case "refuse":
          return void res.writeHead(fault.status, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, code: "injected", message: `injected ${fault.status}` }));
        case "reset":
          return void req.socket.destroy();
        case "lose": {
          await this.forward(r);
          if (fault.status === undefined) return void req.socket.destroy();
          return void res.writeHead(fault.status, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, code: "injected", message: "answer lost" }));
        }
        case "delay":
          await sleep(fault.ms);
          return await reply(await this.forward(r));
        case "hold":
          await fault.gate.promise;
          return await reply(await this.forward(r));
        case "duplicate": {
          const [a] = await Promise.all([this.forward(r), this.forward(r)]);
          return await reply(a);
        }
        case "split": {
          const parsed = JSON.parse(body.toString("utf8")) as { events: unknown[] };
          if (route !== "events" || parsed.events.length < 2) return await reply(await this.forward(r));
          const half = Math.ceil(parsed.events.length / 2);
          const first = parsed.events.slice(0, half);
          const second = parsed.events.slice(half);
          const b = await this.forward({ ...r, body: Buffer.from(JSON.stringify({ events: second })) });
          if (b.status !== 200) return await reply(b);
          const a = await this.forward({ ...r, body: Buffer.from(JSON.stringify({ events: first })) });
          if (a.status !== 200) return await reply(a);
          const ja = JSON.parse(a.body.toString("utf8"));
          const jb = JSON.parse(b.body.toString("utf8"));
          return await reply({ status: 200, contentType: "application/json", body: Buffer.from(JSON.stringify({ ok: true, stored: ja.stored + jb.stored, duplicates: ja.duplicates + jb.duplicates })) });
        }
        case "replay": {
          const a = await this.forward(r);
          const later = sleep(fault.afterMs).then(() => this.forward(r)).catch(() => {});
          this.pending.add(later);
          void later.finally(() => this.pending.delete(later));
          return await reply(a);
        }
        default:
          return await reply(await this.forward(r));
      }
    } catch (e) {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, code: "proxy", message: String(e) }));
    }
  }

  /** Sends the request to the component; records acknowledged events. */
  async forward(r: Pick<Request, "route" | "search" | "headers" | "body" | "sessionId">): Promise<Answer> {
    const res = await fetch(`${this.target}/${r.route}${r.search}`, { method: "POST", headers: r.headers, body: new Uint8Array(r.body) });
    const body = Buffer.from(await res.arrayBuffer());
    if (r.route === "events" && res.status === 200) {
      const acked = this.ackedOf(r.sessionId);
      for (const e of (JSON.parse(r.body.toString("utf8")) as { events: Array<{ seq: number }> }).events) acked.add(e.seq);
    }
    return { status: res.status, body, contentType: res.headers.get("content-type") ?? "application/json" };
  }

  async close() {
    await Promise.allSettled([...this.pending]);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A deterministic pseudo-random sequence (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// the E2B proxy (provider → sandbox host)

export type E2bOp = "create" | "start" | "kill" | "status" | "list" | "other";

export class E2bFaultProxy {
  readonly url: string;
  private faults = new Map<string, number[]>();
  private holds = new Map<string, { gate: Gate; arrived: Gate }>();
  private sandboxCard = new Map<string, string>();
  /** Every injected failure: op, card, status. */
  readonly injected: Array<{ op: E2bOp; cardId: string; status: number }> = [];
  /** Files written through envd (`POST /files`), raw multipart bodies. */
  readonly files: Array<{ sandboxId: string; path: string; body: string }> = [];
  /** Requests seen per op and card. */
  readonly seen: Array<{ op: E2bOp; cardId: string | undefined; sandboxId: string | undefined }> = [];

  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(target: string): Promise<E2bFaultProxy> {
    let proxy!: E2bFaultProxy;
    const server = http.createServer((req, res) => void proxy.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    proxy = new E2bFaultProxy(server, new URL(target), (server.address() as { port: number }).port);
    return proxy;
  }

  /** The next `statuses.length` requests of `op` for the card's sandboxes answer these statuses. */
  fail(cardId: string, op: E2bOp, statuses: number[]) {
    this.faults.set(`${cardId}:${op}`, [...statuses]);
  }
  /** The card's next `op` waits until `release()`; `arrived` opens when it reached the proxy. */
  hold(cardId: string, op: E2bOp): { arrived: Gate; release(): void } {
    const g = gate();
    const arrived = gate();
    this.holds.set(`${cardId}:${op}`, { gate: g, arrived });
    return { arrived, release: () => g.open() };
  }
  cardOfSandbox(sandboxId: string) {
    return this.sandboxCard.get(sandboxId);
  }

  private classify(req: http.IncomingMessage, path: string): { op: E2bOp; sandboxId?: string } {
    const sandboxHeader = req.headers["e2b-sandbox-id"];
    if (typeof sandboxHeader === "string") {
      if (path === "/process.Process/Start") return { op: "start", sandboxId: sandboxHeader };
      return { op: "other", sandboxId: sandboxHeader };
    }
    if (req.method === "POST" && path === "/v2/sandboxes") return { op: "create" };
    if (req.method === "GET" && path === "/v2/sandboxes") return { op: "list" };
    const m = /^\/sandboxes\/([^/]+)$/.exec(path);
    if (m && req.method === "DELETE") return { op: "kill", sandboxId: m[1] };
    if (m && req.method === "GET") return { op: "status", sandboxId: m[1] };
    return { op: "other" };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const u = new URL(req.url ?? "/", "http://x");
    const { op, sandboxId } = this.classify(req, u.pathname);
    let body: Buffer | undefined;
    let cardId = sandboxId ? this.sandboxCard.get(sandboxId) : undefined;
    if (op === "other" && sandboxId && req.method === "POST" && u.pathname === "/files") {
      // Files written into a sandbox (e.g. the session token handed over in a file), for the tests to see.
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
      this.files.push({ sandboxId, path: u.searchParams.get("path") ?? "", body: body.toString("latin1") });
    }
    if (op === "create") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
      try {
        cardId = (JSON.parse(body.toString("utf8")) as { metadata?: Record<string, string> }).metadata?.["lakitu.card"];
      } catch {
        cardId = undefined;
      }
    }
    this.seen.push({ op, cardId, sandboxId });
    if (cardId) {
      const held = this.holds.get(`${cardId}:${op}`);
      if (held) {
        this.holds.delete(`${cardId}:${op}`);
        held.arrived.open();
        await held.gate.promise;
      }
      const queue = this.faults.get(`${cardId}:${op}`);
      const status = queue?.shift();
      if (status !== undefined) {
        this.injected.push({ op, cardId, status });
        req.resume();
        if (op === "start") {
          // Connect protocol error (the SDK's RPC client reads the code from the JSON body).
          const code = status === 429 ? "resource_exhausted" : status === 503 ? "unavailable" : "internal";
          res.writeHead(status, { "content-type": "application/json" });
          return void res.end(JSON.stringify({ code, message: `injected ${status}` }));
        }
        res.writeHead(status, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ code: status, message: `injected ${status}` }));
      }
    }
    const up = http.request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        if (op === "create" && upRes.statusCode && upRes.statusCode < 300 && cardId) {
          const chunks: Buffer[] = [];
          upRes.on("data", (c: Buffer) => chunks.push(c));
          upRes.on("end", () => {
            const raw = Buffer.concat(chunks);
            try {
              const id = (JSON.parse(raw.toString("utf8")) as { sandboxID?: string }).sandboxID;
              if (id) this.sandboxCard.set(id, cardId!);
            } catch {
              // not JSON
            }
            res.writeHead(upRes.statusCode!, upRes.headers);
            res.end(raw);
          });
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        res.on("close", () => upRes.destroy());
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    if (body) up.end(body);
    else req.pipe(up);
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------------
// action → mutation calls

type CallHook = {
  name: string;
  /** Gets the mutation's args and the calling action's args. */
  match: (args: Record<string, unknown>, actionArgs: Record<string, unknown>) => boolean;
  mode: "before" | "after" | "hold";
  times: number;
  hits: number;
  gate?: Gate;
  /** Opens when the hook first fired. */
  fired: Gate;
};
const hooks: CallHook[] = [];
let installed: Promise<void> | undefined;

/**
 * convex-test hands each action a `ctx.runMutation` of its own; we wrap the handlers of the component's
 * actions (the registered function's `_handler`, which convex-test resolves on every call) so that their
 * `ctx.runMutation` goes through the hooks. The modules are the instances the embedded deployment runs.
 */
function install(): Promise<void> {
  return (installed ??= (async () => {
    const { getFunctionName } = await import("convex/server");
    const modules = [await import("../../convex/component/sessions.js"), await import("../../convex/component/qa.js"), await import("../../convex/component/watchdog.js")];
    for (const m of modules) {
      for (const fn of Object.values(m) as Array<{ isAction?: boolean; _handler?: (ctx: any, args: any) => Promise<unknown> }>) {
        if (!fn || !fn.isAction || typeof fn._handler !== "function") continue;
        const inner = fn._handler;
        fn._handler = (ctx: any, args: any) =>
          inner(
            {
              ...ctx,
              runMutation: async (ref: any, margs: Record<string, unknown>) => {
                const name = getFunctionName(ref);
                const hook = hooks.find((h) => h.name === name && h.hits < h.times && h.match(margs ?? {}, args ?? {}));
                if (!hook) return await ctx.runMutation(ref, margs);
                hook.hits++;
                hook.fired.open();
                const lost = new Error(`Transient error: the action's call to ${name} was interrupted (injected)`);
                if (hook.mode === "before") throw lost;
                if (hook.mode === "hold") {
                  await hook.gate!.promise;
                  return await ctx.runMutation(ref, margs);
                }
                await ctx.runMutation(ref, margs);
                throw lost;
              },
            },
            args,
          );
      }
    }
  })());
}

export const actionCalls = {
  install,
  /**
   * The next `times` calls of mutation `name` (e.g. "sessions:started") from one of the component's
   * actions whose args match fail: `before` — the mutation never runs; `after` — it commits and the
   * action gets an error instead of its answer.
   */
  fail(name: string, match: CallHook["match"], mode: "before" | "after", times = 1): CallHook {
    const h: CallHook = { name, match, mode, times, hits: 0, fired: gate() };
    hooks.push(h);
    return h;
  },
  /** The next matching call waits until the returned hook's gate opens. */
  hold(name: string, match: CallHook["match"]): CallHook & { gate: Gate } {
    const h = { name, match, mode: "hold" as const, times: 1, hits: 0, gate: gate(), fired: gate() };
    hooks.push(h);
    return h;
  },
};

// ---------------------------------------------------------------------------------------------
// invariants, with the stack's sandboxes and the proxy's acknowledgements

type Checkable = Pick<FaultStack, "t" | "live" | "callbacks"> & {
  monitor?: ScenarioMonitor;
  logs?: string[];
  /** The embedded deployment's limits checker: a function that exceeded a Convex limit is a violation. */
  limits?: { readonly violations: ReadonlyArray<LimitViolation> };
};

/** The checker's options for a stack: its sandboxes, the proxy's acknowledgements, the tokens it saw and its logs. */
export function stackOptions(fs: Checkable): InvariantOptions {
  const logs = fs.logs;
  return {
    live: fs.live,
    acked: (s) => fs.callbacks.acked.get(s),
    tokens: () => [...fs.callbacks.tokens.values()].map((w) => w.token),
    ...(logs ? { logs: () => logs } : {}),
  };
}

/**
 * Runs the checker for these cards and adds what the monitor saw during the scenario (stuck runs,
 * tokens accepted after the agent phase ended). Does not throw.
 */
export async function checkScenario(fs: Checkable, cardIds: string[] | undefined, extra: Partial<InvariantOptions> = {}, full = false) {
  if (fs.monitor) await fs.monitor.tick();
  const r = await checkInvariants(fs.t, { ...stackOptions(fs), ...(cardIds ? { cardIds } : {}), ...extra }, full);
  const seen = [...(fs.monitor?.violations(cardIds) ?? []), ...(fs.limits?.violations ?? []).map((v) => `[limits] ${describeViolation(v)}`)];
  for (const v of seen) {
    r.violations.push(v);
    const k = /^\[(\w+)\]/.exec(v)?.[1] ?? "?";
    r.byInvariant[k] = (r.byInvariant[k] ?? 0) + 1;
    r.checks++;
  }
  return r;
}

/** Checks every invariant for these cards (counting one scenario) and throws on a violation. */
export async function invariantsHold(fs: Checkable, cardIds: string[], extra: Partial<InvariantOptions> = {}) {
  scenario();
  const r = await checkScenario(fs, cardIds, extra);
  violated(r.violations);
  return r;
}

function violated(violations: string[]) {
  if (violations.length) throw new Error(`${violations.length} invariant violation(s):\n${violations.join("\n")}`);
}

/** The full check over everything the stack holds (end of a file; not a scenario). */
export async function everythingHolds(fs: Checkable, extra: Partial<InvariantOptions> = {}) {
  const r = await checkScenario(fs, undefined, { everyTable: true, ...extra }, true);
  violated(r.violations);
  return r;
}

/** The card-run workflow's journal: `kind:name` of every step. */
export async function journal(t: T, workflowId: string): Promise<string[]> {
  const { workflow } = await import("../../convex/model/workflowManager.js");
  return await t.run(async (ctx: any) => {
    const steps: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: any = await workflow.listSteps(ctx, workflowId as never, { paginationOpts: { numItems: 100, cursor } });
      steps.push(...page.page.map((s: any) => `${s.kind}:${s.name}`));
      if (page.isDone) return steps;
      cursor = page.continueCursor;
    }
  });
}

export async function sessionsOfRun(t: T, runId: string) {
  return await t.run(async (ctx: any) => await ctx.db.query("sessions").withIndex("by_run", (q: any) => q.eq("runId", runId)).collect());
}
