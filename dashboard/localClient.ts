/**
 * `LocalApiClient`: a stand-in for `ConvexReactClient` that talks to `lakitu dev`'s local API, so the
 * same `convex/react` hooks (`useQuery`, `usePaginatedQuery`, `useQueries`, `useMutation`) and the same
 * `LakituDashboard` run against it. It implements the members those hooks use (see
 * react/testing/convexTestClient.ts): `watchQuery` (one shared result per query name + args, with
 * subscribers notified when it changes), `mutation`, `logger`, plus `query` and `close`.
 *
 * Queries are `POST /api/query`; every subscribed query is re-run after each commit the server
 * announces on `GET /api/updates` (Server-Sent Events, read here through a streaming fetch so it works
 * in browsers and in Node alike) and after each reconnect, and after each mutation before that
 * mutation's promise resolves (as a real client resolves once the write is visible to its queries).
 * Errors arrive as `ConvexError` with the server's `{ code, message, path }` as data.
 */
import { getFunctionName, type FunctionReference } from "convex/server";
import { ConvexError, convexToJson, jsonToConvex, type Value } from "convex/values";
import type { ConvexReactClient } from "convex/react";

type Result = { value: unknown } | { error: Error };
type Entry = { name: string; args: Record<string, Value>; result?: Result; json?: string; listeners: Set<() => void>; asked: number; answered: number; stale: boolean };
type ApiReply = { ok: true; value: unknown } | { ok: false; code: string; message: string; path?: string };

export type LocalApiClientOptions = {
  /** Base URL of the dev server; "" (the page's own origin) in the browser. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Subscribe to `/api/updates` (default true). */
  live?: boolean;
  /** Delay before reconnecting the update stream (default 500 ms, doubling to 5 s). */
  reconnectMs?: number;
};

export class LocalApiClient {
  private readonly entries = new Map<string, Entry>();
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly stop = new AbortController();
  private refreshing: Promise<void> | null = null;
  private again = false;
  /** The last commit version the server announced (-1 before the stream connected). */
  version = -1;
  /** True while the update stream is connected. */
  connected = false;
  readonly logger = { log() {}, logVerbose() {}, warn: (...a: unknown[]) => console.warn(...a), error: (...a: unknown[]) => console.error(...a) };

  constructor(opts: LocalApiClientOptions = {}) {
    this.base = (opts.baseUrl ?? "").replace(/\/+$/, "");
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    if (opts.live !== false) void this.follow(opts.reconnectMs ?? 500);
  }

  /** This client typed as `ConvexProvider` wants it (only the members the hooks use exist). */
  asReactClient(): ConvexReactClient {
    return this as unknown as ConvexReactClient;
  }

  watchQuery(query: FunctionReference<"query">, args: Record<string, Value> = {}) {
    const name = getFunctionName(query);
    const key = `${name}:${JSON.stringify(convexToJson(args))}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { name, args, listeners: new Set(), asked: 0, answered: 0, stale: true };
      this.entries.set(key, entry);
    }
    const e = entry;
    return {
      onUpdate: (callback: () => void) => {
        e.listeners.add(callback);
        if (e.stale) void this.run(e);
        return () => {
          e.listeners.delete(callback);
          // Not refreshed while nobody watches; the next watcher sees the last result and a fresh one.
          if (e.listeners.size === 0) e.stale = true;
        };
      },
      localQueryResult: (): unknown => {
        if (!e.result) return undefined;
        if ("error" in e.result) throw e.result.error;
        return e.result.value;
      },
      journal: () => undefined,
    };
  }

  watchPaginatedQuery(): never {
    throw new Error("LocalApiClient: watchPaginatedQuery (usePaginatedQuery_experimental) is not supported; use usePaginatedQuery");
  }

  /** A one-shot query. */
  async query(query: FunctionReference<"query">, args: Record<string, Value> = {}): Promise<unknown> {
    return await this.call("query", getFunctionName(query), args);
  }

  /** Runs a mutation; resolves once every watched query has been re-read after it. */
  async mutation(mutation: FunctionReference<"mutation">, args: Record<string, Value> = {}): Promise<unknown> {
    const value = await this.call("mutation", getFunctionName(mutation), args);
    await this.refresh();
    return value;
  }

  action(): never {
    throw new Error("LocalApiClient: lakitu dev serves no actions");
  }

  /** Re-runs every watched query (coalesced: one pass at a time, one more if asked meanwhile). */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return await this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        const watched = [...this.entries.values()].filter((e) => e.listeners.size > 0);
        await Promise.all(watched.map((e) => this.run(e)));
      } while (this.again);
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  close(): Promise<void> {
    this.stop.abort();
    return Promise.resolve();
  }

  private async run(e: Entry): Promise<void> {
    e.stale = false;
    const n = ++e.asked;
    let result: Result;
    try {
      result = { value: await this.call("query", e.name, e.args) };
    } catch (error) {
      // Lost connection: keep showing the last result; the next commit (or reconnect) asks again.
      if (!(error instanceof ConvexError) && e.result) return;
      result = { error: error instanceof Error ? error : new Error(String(error)) };
    }
    // An older answer arriving after a newer one is dropped.
    if (n < e.answered) return;
    e.answered = n;
    const json = "error" in result ? `error:${result.error.message}` : JSON.stringify(convexToJson(result.value as Value));
    if (json === e.json) return;
    e.result = result;
    e.json = json;
    for (const l of [...e.listeners]) l();
  }

  private async call(kind: "query" | "mutation", name: string, args: Record<string, Value>): Promise<unknown> {
    const res = await this.fetch(`${this.base}/api/${kind}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, args: convexToJson(args) }),
      signal: this.stop.signal,
    });
    let reply: ApiReply;
    try {
      reply = (await res.json()) as ApiReply;
    } catch {
      throw new Error(`lakitu dev answered ${kind} ${name} with HTTP ${res.status} and no JSON`);
    }
    if (!reply.ok) throw new ConvexError({ code: reply.code, message: reply.message, ...(reply.path !== undefined ? { path: reply.path } : {}) });
    return jsonToConvex(reply.value as never);
  }

  /** Reads `/api/updates` for as long as the client lives, reconnecting after a drop. */
  private async follow(firstDelay: number): Promise<void> {
    let delay = firstDelay;
    while (!this.stop.signal.aborted) {
      try {
        const res = await this.fetch(`${this.base}/api/updates`, { headers: { accept: "text/event-stream" }, signal: this.stop.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        this.connected = true;
        delay = firstDelay;
        // After a (re)connect anything may have changed: the first event (the current version) re-reads all.
        await readEvents(res.body, (event, data) => {
          if (event !== "commit") return;
          this.version = (JSON.parse(data) as { version: number }).version;
          void this.refresh();
        });
      } catch {
        // The server is gone or restarting: retry below.
      }
      this.connected = false;
      if (this.stop.signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** Parses a Server-Sent Events body, calling `on(event, data)` for each event until it ends. */
async function readEvents(body: ReadableStream<Uint8Array>, on: (event: string, data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) on(event, data.join("\n"));
    }
  }
}
