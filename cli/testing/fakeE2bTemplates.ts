/**
 * A loopback server implementing the template-build calls the e2b SDK (2.51) makes in
 * `Template.build` (read in node_modules/e2b/dist/index.mjs, src/template/buildApi.ts):
 *
 *   POST /v3/templates {name, tags, cpuCount, memoryMB}          → {templateID, buildID, tags}
 *   GET  /templates/{id}/files/{hash}                            → {present, url} (upload link)
 *   PUT  <url>  (tar.gz of a COPY source)                        → 200
 *   POST /v2/templates/{id}/builds/{buildID}  (the steps)        → 202
 *   GET  /templates/{id}/builds/{buildID}/status?logsOffset=N    → {status, logEntries, logs}
 *
 * Every call but the upload needs `X-API-KEY`. The build is "ready" on the second status poll.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export type Recorded = { method: string; path: string; body: unknown };

export type FakeTemplateApi = {
  url: string;
  requests: Recorded[];
  /** Uploaded archives (ungzipped tar bytes) by files hash. */
  uploads: Map<string, Buffer>;
  /** Make the build end in "error" with this message. */
  failWith?: string;
  close(): Promise<void>;
};

export async function startFakeTemplateApi(apiKey: string): Promise<FakeTemplateApi> {
  const requests: Recorded[] = [];
  const uploads = new Map<string, Buffer>();
  const polls = new Map<string, number>();
  let next = 1;
  const api: FakeTemplateApi = { url: "", requests, uploads, close: async () => void 0 };
  const log = (message: string, i: number) => ({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), level: "info", message });
  const LOGS = ["Building image: FROM node:22-bookworm-slim", "Step 2/6: apt-get install", "Step 4/6: COPY runtime /opt/lakitu/runtime", "Step 6/6: ENV LAKITU_RUNTIME"].map(log);

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? { "content-length": "0" } : { "content-type": "application/json" });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.method === "PUT" && path.startsWith("/upload/")) {
      uploads.set(path.slice("/upload/".length), gunzipSync(raw));
      return send(200, {});
    }
    const body = raw.length && req.headers["content-type"]?.includes("json") ? JSON.parse(raw.toString()) : undefined;
    requests.push({ method: req.method ?? "", path: `${path}${url.search}`, body });
    if (req.headers["x-api-key"] !== apiKey) return send(401, { code: 401, message: "Invalid API key" });
    let m: RegExpMatchArray | null;
    if (req.method === "POST" && path === "/v3/templates") {
      const n = next++;
      return send(202, { templateID: `tpl_${n}`, buildID: `bld_${n}`, tags: body?.tags ?? ["default"], names: [body?.name] });
    }
    if (req.method === "GET" && (m = path.match(/^\/templates\/([^/]+)\/files\/([^/]+)$/))) {
      return send(201, { present: uploads.has(m[2]), url: `${api.url}/upload/${m[2]}` });
    }
    if (req.method === "POST" && /^\/v2\/templates\/[^/]+\/builds\/[^/]+$/.test(path)) return send(202);
    if (req.method === "GET" && (m = path.match(/^\/templates\/([^/]+)\/builds\/([^/]+)\/status$/))) {
      const count = (polls.get(m[2]) ?? 0) + 1;
      polls.set(m[2], count);
      const offset = Number(url.searchParams.get("logsOffset") ?? 0);
      const entries = LOGS.slice(0, count === 1 ? 2 : LOGS.length).slice(offset);
      const status = count === 1 ? "building" : api.failWith ? "error" : "ready";
      return send(200, {
        templateID: m[1],
        buildID: m[2],
        status,
        logEntries: entries,
        logs: entries.map((e) => e.message),
        ...(status === "error" ? { reason: { message: api.failWith } } : {}),
      });
    }
    return send(404, { code: 404, message: `no route ${req.method} ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () => new Promise((resolve) => server.close(() => resolve()));
  return api;
}
