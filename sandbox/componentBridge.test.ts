/**
 * The component bridge on its own (no sandbox): one upstream whatever the request names, hop-by-hop
 * headers dropped both ways, bodies streamed, clear 502s, and the socket's mode.
 */
import { statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUpstream, startComponentBridge, type ComponentBridge } from "./componentBridge.js";
import { tempRoot } from "./testing/helpers.js";

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };

let upstream: http.Server;
let upstreamUrl: URL;
const seen: Seen[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(201, {
        "content-type": "text/plain",
        connection: "keep-alive, x-resp-hop",
        "x-resp-hop": "1",
        "keep-alive": "timeout=5",
        "x-kept": "yes",
      });
      res.end(`echo:${body}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = new URL(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`);
});
afterAll(async () => {
  await new Promise<void>((r) => upstream.close(() => r()));
});

/** Sends `raw` (a whole HTTP/1.1 request) to the socket and returns the raw response. */
function rawRequest(socketPath: string, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath, () => s.write(raw));
    let out = "";
    s.on("data", (d) => (out += d.toString()));
    s.on("end", () => resolve(out));
    s.on("error", reject);
  });
}

describe("component bridge", () => {
  let bridge: ComponentBridge;
  beforeAll(async () => {
    bridge = await startComponentBridge({ socketPath: path.join(tempRoot("bridge"), "component.sock"), upstream: upstreamUrl });
  });
  afterAll(async () => {
    await bridge?.close();
  });

  it("listens on a socket only its owner may use (0600)", () => {
    expect(statSync(bridge.socketPath).mode & 0o777).toBe(0o600);
  });

  it("sends every request to the upstream, whatever host its request line and Host header name", async () => {
    seen.length = 0;
    const response = await rawRequest(
      bridge.socketPath,
      "POST http://169.254.169.254/latest/meta-data?x=1 HTTP/1.1\r\nHost: 169.254.169.254\r\nContent-Length: 5\r\n" +
        "Connection: close, x-hop\r\nX-Hop: secret\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nX-App: kept\r\n\r\nhello",
    );
    expect(seen).toHaveLength(1);
    const got = seen[0]!;
    expect([got.method, got.url, got.body]).toEqual(["POST", "/latest/meta-data?x=1", "hello"]);
    expect(got.headers.host).toBe(upstreamUrl.host);
    expect(got.headers["x-app"]).toBe("kept");
    for (const h of ["x-hop", "proxy-authorization", "te"]) expect(got.headers[h], h).toBeUndefined();
    // The answer comes back with its end-to-end headers only.
    const split = response.indexOf("\r\n\r\n");
    const [head, body] = [response.slice(0, split), response.slice(split + 4)];
    expect(head).toMatch(/^HTTP\/1\.1 201 Created/);
    expect(head).toMatch(/\r\nx-kept: yes/i);
    expect(head).not.toMatch(/x-resp-hop|keep-alive: timeout/i);
    expect(body).toBe("a\r\necho:hello\r\n0\r\n\r\n"); // re-framed (chunked) by the bridge
  });

  it("streams large bodies through unchanged", async () => {
    seen.length = 0;
    const big = "x".repeat(3 << 20);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath: bridge.socketPath, path: "/upload", method: "PUT" }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end(big);
    });
    expect(status).toBe(201);
    expect(seen[0]!.body.length).toBe(big.length);
  });

  it("answers 502 naming the upstream when it cannot be reached", async () => {
    const closed = await startComponentBridge({
      socketPath: path.join(tempRoot("bridge-down"), "c.sock"),
      upstream: new URL("http://127.0.0.1:1"),
    });
    try {
      const response = await rawRequest(closed.socketPath, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      expect(response).toMatch(/^HTTP\/1\.1 502/);
      expect(response).toMatch(/"code":"bridge_unavailable".*the component at http:\/\/127\.0\.0\.1:1 could not be reached/);
    } finally {
      await closed.close();
    }
  });

  it("answers 502 saying how to configure it when it has no upstream", async () => {
    const none = await startComponentBridge({ socketPath: path.join(tempRoot("bridge-none"), "c.sock"), upstream: undefined });
    try {
      const response = await rawRequest(none.socketPath, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      expect(response).toMatch(/^HTTP\/1\.1 502/);
      expect(response).toMatch(/no component URL to bridge to: start it with componentUrl \(lakitu sandbox serve --component-url URL\)/);
    } finally {
      await none.close();
    }
  });
});

describe("parseUpstream", () => {
  it("accepts http(s) origins and refuses the rest, naming the option", () => {
    expect(parseUpstream(undefined)).toBeUndefined();
    expect(parseUpstream("http://127.0.0.1:3211/")?.origin).toBe("http://127.0.0.1:3211");
    expect(parseUpstream("https://happy-otter-123.convex.site")?.origin).toBe("https://happy-otter-123.convex.site");
    expect(() => parseUpstream("not a url", "--component-url")).toThrow(/--component-url must be an http\(s\) URL/);
    expect(() => parseUpstream("file:///etc/passwd")).toThrow(/componentUrl must use http or https, got file/);
    expect(() => parseUpstream("http://u:p@host")).toThrow(/must not carry credentials/);
    expect(() => parseUpstream("http://host/lakitu?x=1")).toThrow(/must be an origin/);
    try {
      parseUpstream("ftp://x");
    } catch (e) {
      expect((e as { code?: string }).code).toBe("invalid_option");
    }
  });
});
