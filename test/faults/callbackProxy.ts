/**
 * The callback proxy (runtime → component): a loopback HTTP proxy at the run's `callbackUrl`,
 * misbehaving per profile and route — refuse, reset, lose the answer, delay, duplicate,
 * split-and-reorder, replay later, hold until released, go down and come back. It records the events
 * the component acknowledged and the token each session presented.
 */
import http from "node:http";
import type { WireToken } from "./monitor.js";
import { sleep, type Gate } from "./waiting.js";

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
