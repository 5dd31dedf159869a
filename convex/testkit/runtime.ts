/**
 * Plays the sandbox runtime in an app's convex-test: speaks the real HTTP protocol to the routes
 * (`t.fetch`) with the token and generation the provider handed the sandbox, under the path of its
 * `LAKITU_URL` (e.g. `/lakitu`, as `app.use(lakitu, { httpPrefix: "/lakitu/" })` mounts them).
 */
import type { FakeSandbox } from "./provider.js";

/** What the runtime needs of a convex-test instance. */
export type Fetcher = { fetch(path: string, init?: RequestInit): Promise<Response> };
export type RouteReply = { status: number; body: any };

export class TestRuntime {
  /** Next event sequence number. */
  seq = 0;
  private readonly base: string;
  constructor(
    readonly t: Fetcher,
    readonly sandbox: FakeSandbox,
    opts: { basePath?: string } = {},
  ) {
    this.base = (opts.basePath ?? new URL(sandbox.envs.LAKITU_URL).pathname).replace(/\/+$/, "");
  }
  get token(): string {
    return this.sandbox.envs.LAKITU_TOKEN;
  }
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      "x-lakitu-generation": this.sandbox.envs.LAKITU_GENERATION,
      "content-type": "application/json",
      ...extra,
    };
  }
  /** POSTs a JSON body to a route (`events`, `heartbeat`, `complete`, `inbox`, `task`, `llm`, `ksa`). */
  async post(route: string, body: unknown, headers?: Record<string, string>): Promise<RouteReply> {
    const res = await this.t.fetch(`${this.base}/${route}`, { method: "POST", headers: headers ?? this.headers(), body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
  /** Log events, numbered from `seq`. */
  async events(texts: string[]): Promise<RouteReply> {
    return await this.post("events", { events: texts.map((text) => ({ seq: this.seq++, kind: "log", text })) });
  }
  async heartbeat(): Promise<RouteReply> {
    return await this.post("heartbeat", {});
  }
  /** Uploads a file of the output folder as an artifact. */
  async upload(name: string, content: string | Uint8Array, type?: string): Promise<RouteReply> {
    const q = new URLSearchParams({ name, ...(type ? { type } : {}) });
    const body = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const res = await this.t.fetch(`${this.base}/artifacts?${q}`, {
      method: "POST",
      headers: { ...this.headers(), "content-type": "application/octet-stream" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    return { status: res.status, body: await res.json() };
  }
  /** Ends the agent phase; `manifest` names the deliverables it produced. */
  async complete(status: "succeeded" | "failed" | "canceled" = "succeeded", manifest: string[] = []): Promise<RouteReply> {
    return await this.post("complete", { status, summary: "done", manifest: manifest.map((name) => ({ name })) });
  }
  /** Uploads each file, then completes naming them all: what an agent that did its job sends. */
  async deliver(files: Record<string, string | Uint8Array>): Promise<RouteReply> {
    for (const [name, content] of Object.entries(files)) {
      const r = await this.upload(name, content);
      if (r.status !== 200) throw new Error(`upload of ${name} refused: ${r.status} ${JSON.stringify(r.body)}`);
    }
    return await this.complete("succeeded", Object.keys(files));
  }
}
