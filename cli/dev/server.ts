/**
 * `lakitu dev`'s HTTP server on 127.0.0.1: the dashboard page, the local API over the embedded
 * deployment (`POST /api/query`, `POST /api/mutation`, `GET /api/updates` (SSE), `GET /api/info`) and
 * artifact bytes (`GET /api/storage/<id>`). See cli/README.md for the protocol.
 *
 * Only this machine's pages may drive it: the Host header must name the server (no DNS rebinding),
 * a request's Origin, when present, must be the server's own, and API calls must be
 * `application/json` (which a cross-site form cannot send without a CORS preflight this server never
 * answers).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { convexToJson, ConvexError, jsonToConvex, type Value } from "convex/values";
import { z } from "zod";
import type { EmbeddedDeployment } from "../embedded/deployment.js";
import type { DashboardAssets } from "./assets.js";
import { devFunction, MUTATION_NAMES, QUERY_NAMES, type DevContext } from "./functions.js";
import { fieldPath } from "./boardsFile.js";
import { CommitClock } from "./updates.js";

export type DevInfo = {
  version: string;
  model: string;
  isolation: string;
  persistence: { runHistoryKept: false; note: string };
  boards: string[];
};

export type DevServer = { url: string; port: number; clock: CommitClock; close(): Promise<void> };

const MAX_BODY = 1 << 20;
const bodySchema = z.strictObject({ name: z.string(), args: z.record(z.string(), z.unknown()).optional() });

type Fail = { status: number; code: string; message: string; path?: string };

export async function serveDev(opts: {
  deployment: Pick<EmbeddedDeployment, "t" | "counters">;
  context: DevContext;
  info: () => DevInfo;
  assets: DashboardAssets;
  port?: number;
}): Promise<DevServer> {
  const { t } = opts.deployment;
  const clock = new CommitClock(opts.deployment.counters);
  const streams = new Set<ServerResponse>();
  let port = 0;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, { ok: false, code: "internal", message: e instanceof Error ? e.message : String(e) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const own = [`127.0.0.1:${port}`, `localhost:${port}`];
    if (!own.includes(req.headers.host ?? "")) return fail(res, { status: 403, code: "forbidden", message: `Host "${req.headers.host ?? ""}" is not this server (${own.join(" or ")})` });
    const origin = req.headers.origin;
    if (origin !== undefined && !own.some((h) => origin === `http://${h}`)) {
      return fail(res, { status: 403, code: "forbidden", message: `cross-origin request from ${origin} refused; only pages served by this server may call it` });
    }
    const path = url.pathname;
    if (req.method === "GET" && (path === "/" || path === "/index.html")) return send(res, 200, opts.assets.html, "text/html; charset=utf-8");
    if (req.method === "GET" && path.startsWith("/assets/")) {
      const file = opts.assets.files.get(path.slice("/assets/".length));
      return file ? send(res, 200, file.body, file.contentType) : fail(res, { status: 404, code: "not_found", message: `no asset ${path}` });
    }
    if (req.method === "GET" && path === "/favicon.ico") return void res.writeHead(204).end();
    if (req.method === "GET" && path === "/api/info") return send(res, 200, opts.info());
    if (req.method === "GET" && path === "/api/updates") return updates(req, res);
    if (req.method === "GET" && path.startsWith("/api/storage/")) return storage(res, decodeURIComponent(path.slice("/api/storage/".length)));
    if (path === "/api/query" || path === "/api/mutation") {
      if (req.method !== "POST") return fail(res, { status: 405, code: "invalid_argument", message: `${path} takes POST` });
      return await call(req, res, path === "/api/query" ? "query" : "mutation");
    }
    return fail(res, { status: 404, code: "not_found", message: `no route ${req.method} ${path}` });
  }

  async function call(req: IncomingMessage, res: ServerResponse, kind: "query" | "mutation") {
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") return fail(res, { status: 415, code: "invalid_argument", message: `content-type must be application/json, got "${type || "none"}"` });
    const raw = await readBody(req);
    if (raw === null) return fail(res, { status: 413, code: "too_large", message: `request body is over ${MAX_BODY} bytes` });
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return fail(res, { status: 400, code: "invalid_argument", message: "request body is not valid JSON" });
    }
    const body = bodySchema.safeParse(json);
    if (!body.success) return fail(res, zodFail(body.error, ""));
    const { name } = body.data;
    const fn = devFunction(kind, name);
    if (!fn) {
      const known = kind === "query" ? QUERY_NAMES : MUTATION_NAMES;
      return fail(res, { status: 404, code: "not_found", message: `no ${kind} named "${name}"; the ${kind === "query" ? "queries" : "mutations"} are: ${known.join(", ")}`, path: "name" });
    }
    let args: Record<string, unknown>;
    try {
      args = jsonToConvex((body.data.args ?? {}) as never) as Record<string, unknown>;
    } catch (e) {
      return fail(res, { status: 400, code: "invalid_argument", message: `args are not Convex JSON: ${e instanceof Error ? e.message : String(e)}`, path: "args" });
    }
    const checked = fn.args.safeParse(args);
    if (!checked.success) return fail(res, zodFail(checked.error, "args"));
    const componentArgs = fn.fill ? fn.fill(checked.data, opts.context) : checked.data;
    try {
      const tt = t as unknown as Record<"query" | "mutation", (ref: unknown, args: unknown) => Promise<unknown>>;
      let value = fn.kind === "query" ? await tt.query(fn.ref, componentArgs) : await tt.mutation(fn.ref, componentArgs);
      if (name === "getArtifactUrl" && typeof value === "string") value = await artifactUrl(String(componentArgs.artifactId));
      if (fn.kind === "mutation") clock.bump();
      return send(res, 200, { ok: true, value: convexToJson((value ?? null) as Value) });
    } catch (e) {
      return fail(res, componentFail(e));
    }
  }

  function updates(req: IncomingMessage, res: ServerResponse) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    const write = (version: number) => res.write(`event: commit\ndata: ${JSON.stringify({ version })}\n\n`);
    write(clock.current);
    const unsubscribe = clock.subscribe(write);
    // A comment now and then keeps proxies and idle timeouts from closing the stream.
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    streams.add(res);
    req.on("close", () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(res);
    });
  }

  /**
   * The artifact's bytes on this server. (convex-test's own storage URLs name the file's sha256 on a
   * host that does not exist; the component has already checked the artifact exists.)
   */
  async function artifactUrl(artifactId: string): Promise<string | null> {
    const storageId = await t.run(async (ctx) => ((await ctx.db.get(artifactId as never)) as { storageId?: string } | null)?.storageId ?? null);
    return storageId ? `/api/storage/${encodeURIComponent(storageId)}` : null;
  }

  async function storage(res: ServerResponse, storageId: string) {
    // An id that is not a stored file's (malformed, or another table's) is a 404 like a deleted one.
    const file = await t
      .run(async (ctx) => {
        const blob = await ctx.storage.get(storageId as never);
        return blob ? { bytes: await blob.arrayBuffer(), type: blob.type } : null;
      })
      .catch(() => null);
    if (!file) return fail(res, { status: 404, code: "not_found", message: `no stored file ${storageId}` });
    const type = file.type || "application/octet-stream";
    const headers: Record<string, string> = { "x-content-type-options": "nosniff", "cache-control": "no-store" };
    // Agent output is untrusted: anything but a PDF or a raster image is shown without script or same-origin rights.
    if (!/^application\/pdf\b|^image\/(png|jpeg|gif|webp)\b/.test(type)) headers["content-security-policy"] = "sandbox";
    return send(res, 200, Buffer.from(file.bytes), type, headers);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    clock,
    close: () => {
      clock.close();
      for (const s of streams) s.end();
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const STATUS: Record<string, number> = { not_found: 404, invalid_argument: 400, conflict: 409, too_large: 413, forbidden: 403, unauthorized: 401, quota_exceeded: 429, busy: 409, stale: 409 };

/** A component error as it is (`ConvexError` data `{ code, message, path }`); an argument validator's error as invalid_argument. */
function componentFail(e: unknown): Fail {
  if (e instanceof ConvexError && e.data && typeof e.data === "object" && typeof (e.data as { code?: unknown }).code === "string") {
    const d = e.data as { code: string; message?: string; path?: string };
    return { status: STATUS[d.code] ?? 400, code: d.code, message: d.message ?? String(e.message), ...(d.path !== undefined ? { path: d.path } : {}) };
  }
  const message = e instanceof Error ? e.message : String(e);
  if (/ArgumentValidationError|Validator error/.test(message)) return { status: 400, code: "invalid_argument", message };
  return { status: 500, code: "internal", message };
}

function zodFail(error: z.ZodError, prefix: string): Fail {
  const issue = error.issues[0];
  const path = fieldPath([...(prefix ? [prefix] : []), ...issue.path]);
  return { status: 400, code: "invalid_argument", message: `${path}: ${issue.message}`, path };
}

function fail(res: ServerResponse, f: Fail) {
  send(res, f.status, { ok: false, code: f.code, message: f.message, ...(f.path !== undefined ? { path: f.path } : {}) });
}

function send(res: ServerResponse, status: number, body: unknown, contentType = "application/json", headers: Record<string, string> = {}) {
  if (res.headersSent) return void res.end();
  const data = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": contentType, "x-content-type-options": "nosniff", ...headers });
  res.end(data);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
