import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { socketFetch } from "./socketFetch.js";

let dir: string;
let server: Server;
const seen: Array<{ method?: string; url?: string; host?: string; auth?: string; body: string }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lakitu-sock-"));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, host: req.headers.host, auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      if (req.url?.startsWith("/slow")) return; // never answers
      res.writeHead(req.url?.startsWith("/missing") ? 404 : 200, { "content-type": "application/json", "x-echo": "1" });
      res.end(JSON.stringify({ ok: true, len: Buffer.concat(chunks).length }));
    });
  });
  await new Promise<void>((r) => server.listen(join(dir, "c.sock"), r));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe("socketFetch", () => {
  it("sends method, path, query, headers and body over the socket and returns the response", async () => {
    const f = socketFetch(join(dir, "c.sock"));
    const r = await f("https://dep.convex.site/lakitu/events?x=1", { method: "POST", headers: { authorization: "Bearer t" }, body: new Uint8Array([1, 2, 3]) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-echo")).toBe("1");
    expect(await r.json()).toEqual({ ok: true, len: 3 });
    expect(seen.at(-1)).toMatchObject({ method: "POST", url: "/lakitu/events?x=1", host: "dep.convex.site", auth: "Bearer t" });
    const missing = await f("https://dep.convex.site/missing", { method: "POST", body: "{}" });
    expect(missing.status).toBe(404);
  });

  it("takes headers as a plain object, a Headers instance or pairs, names in any case", async () => {
    const f = socketFetch(join(dir, "c.sock"));
    for (const headers of [{ Authorization: "Bearer a" }, new Headers({ AUTHORIZATION: "Bearer a" }), [["authorization", "Bearer a"]] as Array<[string, string]>]) {
      await f("https://dep.convex.site/h", { method: "POST", headers, body: "{}" });
      expect(seen.at(-1)).toMatchObject({ url: "/h", host: "dep.convex.site", auth: "Bearer a" });
    }
  });

  it("aborts on the signal, and fails like fetch when the socket is absent", async () => {
    const f = socketFetch(join(dir, "c.sock"));
    await expect(f("https://d/slow", { method: "POST", body: "x", signal: AbortSignal.timeout(200) })).rejects.toThrow();
    await expect(socketFetch(join(dir, "none.sock"))("https://d/x", { method: "POST" })).rejects.toThrow(/fetch failed: connect ENOENT/);
  });
});
