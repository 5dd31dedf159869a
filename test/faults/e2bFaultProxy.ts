/**
 * The E2B fault proxy (provider → sandbox host): a loopback HTTP proxy between the E2B SDK (in the
 * provider action) and the local sandbox host, answering 429/5xx on create, on start (the runtime
 * command), on kill or on status, or holding a create until released.
 */
import http from "node:http";
import { gate, type Gate } from "./waiting.js";

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
