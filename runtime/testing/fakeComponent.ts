/**
 * A fake Lakitu component for runtime tests: a loopback HTTP server implementing the runtime routes
 * (bodies checked with the real route schemas), a scripted model behind /llm, an inbox, artifact
 * storage with sha256 checks, and fault injection. It records every request it saw.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { zCommitBody, zCompleteBody, zEventsBody, zInboxBody, zUploadUrlBody } from "../../convex/shared/routes.js";
import type { Completion, EventInput, InboxMessage } from "../client.js";
import type { Task } from "../task.js";

export type Reply = string | { stop: "budget_exceeded" | "max_steps" } | ((observation: string, step: number) => string | Promise<string>);

/** What to do with one request: answer normally, fail it, or cut the connection (before or after handling it). */
export type Fault = "400" | "503" | "429" | "413" | "413-quota" | "401" | "stale" | "drop" | "drop-after" | undefined;

export type RecordedRequest = { path: string; query: string; headers: Record<string, string | string[] | undefined>; body: Buffer; at: number };

export type FakeOptions = {
  token: string;
  generation?: number;
  task?: Partial<Omit<Task, "stage" | "limits">> & { stage?: Partial<Task["stage"]>; limits?: Partial<Task["limits"]> };
  replies?: Reply[];
  /** Gateway KSA handler; default echoes. */
  ksa?: (ksa: string, fn: string, args: unknown) => unknown;
  /** Decides a fault per request. */
  fault?: (req: RecordedRequest) => Fault;
  /** Gateway KSAs answered with 403 forbidden. */
  forbidKsa?: string[];
  /** Delay before answering /llm (simulated model latency). */
  llmDelayMs?: number;
  /** Bytes served by /restore, by artifact id. */
  restoreFiles?: Record<string, Buffer>;
  /** Answer the first N /llm calls with 409 busy (a previous turn still in flight). */
  llmBusy?: number;
  /**
   * Where /upload-url points: "other" (default, like Convex: storage on another origin, which a
   * sandbox cannot reach, so bytes go through /artifacts) or "same" (this server's /storage/upload).
   */
  uploadOrigin?: "same" | "other";
};

export class FakeComponent {
  readonly requests: RecordedRequest[] = [];
  /** Stored events by seq. */
  readonly events = new Map<number, EventInput>();
  /** Every seq stored, in storing order (a duplicate store would show twice). */
  readonly storedSeqs: number[] = [];
  duplicates = 0;
  readonly llmCalls: Array<{ step: number; observation: string }> = [];
  readonly ksaCalls: Array<{ ksa: string; fn: string; args: unknown }> = [];
  readonly artifacts = new Map<string, { bytes: Buffer; sha256: string; type?: string; contentType?: string; version: number }>();
  readonly completions: Completion[] = [];
  /** Bytes POSTed to /storage/upload, by storage id (committed or not). */
  readonly blobs = new Map<string, { bytes: Buffer; contentType: string }>();
  status = "running";
  revoked = false;
  private readonly inbox: InboxMessage[] = [];
  private inboxSeq = 0;
  private readonly replyByStep = new Map<number, { reply: string } | { stop: string }>();
  private nextReply = 0;
  private busyAnswered = 0;
  private server: Server | undefined;
  private readonly waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  url = "";

  constructor(readonly options: FakeOptions) {}

  get task(): Task {
    const t = this.options.task ?? {};
    return {
      runId: t.runId ?? "run_1",
      attempt: t.attempt ?? 1,
      stage: { name: "draft", goals: ["write the report"], deliverables: [], allowedKsas: ["file", "artifacts", "remote"], ...t.stage },
      card: t.card ?? { title: "Test card" },
      ...(t.retryContext === undefined ? {} : { retryContext: t.retryContext }),
      limits: { maxSteps: 10, deadline: Date.now() + 60_000, ...t.limits },
      outputDir: t.outputDir ?? "out",
      restore: t.restore ?? [],
    };
  }

  async start(): Promise<this> {
    const task = this.task;
    this.options.task = { ...this.options.task, limits: task.limits };
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/lakitu`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  steer(text: string, author?: string): void {
    this.inbox.push({ seq: ++this.inboxSeq, text, author });
  }

  /** Resolves when `test` holds (checked after every request). */
  until(test: () => boolean, timeoutMs = 20_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("FakeComponent.until timed out")), timeoutMs);
      this.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  bodiesOf(path: string): unknown[] {
    return this.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body.toString("utf8")));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.replace(/^\/lakitu\//, "");
    const rec: RecordedRequest = { path, query: url.search, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
    this.requests.push(rec);
    const fault = this.options.fault?.(rec);
    try {
      if (path === "/storage/upload" && fault === undefined) {
        // Like Convex's upload URL: no bearer token, answers { storageId }.
        const storageId = `s_${this.blobs.size + 1}`;
        this.blobs.set(storageId, { bytes: rec.body, contentType: String(req.headers["content-type"] ?? "") });
        return send(res, 200, { storageId });
      }
      if (fault === "drop") {
        req.socket.destroy();
        return;
      }
      if (fault === "503" || fault === "429") return send(res, Number(fault), { ok: false, code: "unavailable", message: "try again" });
      if (fault === "400") return send(res, 400, { ok: false, code: "invalid_argument", message: "event refused by the fake component" });
      if (fault === "413") return send(res, 413, { ok: false, code: "too_large", message: "batch too large for this deployment" });
      if (fault === "413-quota") return send(res, 413, { ok: false, code: "quota_exceeded", message: "the run's event quota is used up" });
      if (fault === "401") return send(res, 401, { ok: false, code: "unauthorized", message: "token revoked" });
      if (fault === "stale") return send(res, 409, { ok: false, code: "stale", message: "generation 0 is stale" });
      const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ""));
      if (!auth || auth[1] !== this.options.token || this.revoked) return send(res, 401, { ok: false, code: "unauthorized", message: "invalid token" });
      if (req.headers["x-lakitu-generation"] !== String(this.options.generation ?? 1)) {
        return send(res, 409, { ok: false, code: "stale", message: "stale generation" });
      }
      const out = await this.route(path, url, rec);
      if (fault === "drop-after") {
        req.socket.destroy();
        return;
      }
      if (out.raw) {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(out.raw);
        return;
      }
      send(res, out.status ?? 200, out.body);
    } catch (e) {
      send(res, 400, { ok: false, code: "invalid_argument", message: (e as Error).message });
    } finally {
      for (const w of [...this.waiters]) {
        if (w.test()) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  }

  private record(name: string, bytes: Buffer, sha256: string, type: string | undefined, contentType: string) {
    const prev = this.artifacts.get(name);
    if (prev?.sha256 === sha256) return { ok: true, artifactId: `a_${name}`, version: prev.version, duplicate: true };
    const version = (prev?.version ?? 0) + 1;
    this.artifacts.set(name, { bytes, sha256, type, contentType, version });
    return { ok: true, artifactId: `a_${name}`, version, duplicate: false };
  }

  private async route(path: string, url: URL, rec: RecordedRequest): Promise<{ status?: number; body?: unknown; raw?: Buffer }> {
    const json = () => (rec.body.length ? JSON.parse(rec.body.toString("utf8")) : {});
    switch (path) {
      case "task":
        return { body: { ok: true, task: this.task } };
      case "heartbeat":
        return { body: { ok: true, status: this.status, deadline: this.task.limits.deadline } };
      case "events": {
        const body = zEventsBody.parse(json());
        if (body.events.length > 100) return { status: 413, body: { ok: false, code: "too_large", message: "batch too large" } };
        let stored = 0;
        for (const e of body.events) {
          if (this.events.has(e.seq)) {
            this.duplicates++;
            continue;
          }
          this.events.set(e.seq, e as EventInput);
          this.storedSeqs.push(e.seq);
          stored++;
        }
        return { body: { ok: true, stored, duplicates: body.events.length - stored } };
      }
      case "inbox": {
        const { afterSeq } = zInboxBody.parse(json());
        return { body: { ok: true, messages: this.inbox.filter((m) => m.seq > afterSeq) } };
      }
      case "llm": {
        const { step, observation } = json() as { step: number; observation: string };
        if ((this.options.llmBusy ?? 0) > this.busyAnswered) {
          this.busyAnswered++;
          return { status: 409, body: { ok: false, code: "busy", message: "step 0 is being answered" } };
        }
        if (typeof step !== "number" || typeof observation !== "string") throw new Error("llm: step and observation required");
        // Idempotent by step, as the component's gateway is: a retried call gets the same answer.
        let answer = this.replyByStep.get(step);
        if (!answer) {
          this.llmCalls.push({ step, observation });
          const script = this.options.replies ?? [];
          const next = this.nextReply < script.length ? script[this.nextReply++] : "All done.";
          answer = typeof next === "string" ? { reply: next } : typeof next === "function" ? { reply: await next(observation, step) } : next;
          this.replyByStep.set(step, answer);
        }
        if (this.options.llmDelayMs) await new Promise((r) => setTimeout(r, this.options.llmDelayMs));
        return { body: "stop" in answer ? { ok: true, reply: "", stop: answer.stop } : { ok: true, reply: answer.reply } };
      }
      case "restore": {
        const { artifactId } = json() as { artifactId: string };
        const bytes = this.options.restoreFiles?.[artifactId];
        if (!bytes) return { status: 403, body: { ok: false, code: "forbidden", message: `artifact ${artifactId} is not a file of the run this one resumes` } };
        return { raw: bytes };
      }
      case "ksa": {
        const { ksa, fn, args } = json() as { ksa: string; fn: string; args: unknown };
        this.ksaCalls.push({ ksa, fn, args });
        if (this.options.forbidKsa?.includes(ksa)) return { status: 403, body: { ok: false, code: "forbidden", message: `KSA "${ksa}" is not allowed in this stage` } };
        const result = this.options.ksa ? await this.options.ksa(ksa, fn, args) : { echo: args };
        return { body: { ok: true, result } };
      }
      case "upload-url": {
        const b = zUploadUrlBody.parse(json());
        const prev = this.artifacts.get(b.name);
        if (prev?.sha256 === b.sha256) return { body: { ok: true, existing: { artifactId: `a_${b.name}`, version: prev.version } } };
        const origin = this.options.uploadOrigin === "same" ? this.url.replace(/\/lakitu$/, "") : "https://storage.invalid";
        return { body: { ok: true, uploadUrl: `${origin}/storage/upload?token=t${this.blobs.size}` } };
      }
      case "commit": {
        const b = zCommitBody.parse(json());
        const blob = this.blobs.get(b.storageId);
        if (!blob) return { status: 404, body: { ok: false, code: "not_found", message: `no stored file ${b.storageId}` } };
        const sha256 = createHash("sha256").update(blob.bytes).digest("hex");
        if (sha256 !== b.sha256 || blob.bytes.length !== b.size) {
          this.blobs.delete(b.storageId);
          return { status: 400, body: { ok: false, code: "invalid_argument", message: `sha256 mismatch for ${b.name}` } };
        }
        return { body: this.record(b.name, blob.bytes, sha256, b.type, b.contentType ?? blob.contentType) };
      }
      case "artifacts": {
        const name = url.searchParams.get("name");
        if (!name) throw new Error("missing ?name");
        const sha256 = createHash("sha256").update(rec.body).digest("hex");
        const claimed = rec.headers["x-lakitu-sha256"];
        if (claimed !== sha256) throw new Error(`sha256 mismatch for ${name}: header ${String(claimed)}, body ${sha256}`);
        return { body: this.record(name, rec.body, sha256, url.searchParams.get("type") ?? undefined, String(rec.headers["content-type"] ?? "")) };
      }
      case "complete": {
        const c = zCompleteBody.parse(json());
        this.completions.push(c as Completion);
        const accepted = this.completions.length === 1;
        if (accepted) this.status = c.status === "canceled" ? "failed" : "collecting";
        return { body: { ok: true, accepted, status: this.status } };
      }
      default:
        return { status: 404, body: { ok: false, code: "not_found", message: `no route /${path}` } };
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A realistic session token: `lkt.<session>.<43 chars>`. */
export function testToken(): string {
  return `lkt.sess1.${createHash("sha256").update(String(Math.random())).digest("base64url").slice(0, 43)}`;
}
