/**
 * A loopback HTTP proxy between the sandboxes' component bridge and the deployment, that notes when a
 * route is first called (the runtime's first `/task`): the benchmark's "runtime ready".
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export class FirstRequestProxy {
  /** The deployment's URL; set once it is up (the proxy starts first: the bridge is given its URL). */
  target = "";
  private waiting: Array<{ suffix: string; resolve: (at: number) => void }> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FirstRequestProxy> {
    let proxy!: FirstRequestProxy;
    const server = createServer((req, res) => proxy.handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    proxy = new FirstRequestProxy(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    return proxy;
  }

  /** Resolves with `performance.now()` when the next request whose path ends with `suffix` arrives. */
  next(suffix: string): Promise<number> {
    return new Promise((resolve) => this.waiting.push({ suffix, resolve }));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const at = performance.now();
    const path = (req.url ?? "").split("?")[0]!;
    this.waiting = this.waiting.filter((w) => (path.endsWith(w.suffix) ? (w.resolve(at), false) : true));
    const target = new URL(req.url ?? "/", this.target);
    const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: false, code: "proxy", message: e.message }));
    });
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
