/**
 * web.fetch against real loopback HTTP servers. Loopback is refused in production; these tests reach it
 * through the test-only escape and check that every other refusal still holds with it on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { isLakituError, type LakituErrorCode } from "../shared/errors.js";
import { validateJson } from "../shared/jsonSchema.js";
import { KSA_REGISTRY } from "../../ksa/registry.generated.js";
import { createNodeWebTransport } from "./nodeWebTransport.js";
import { hostWebTransport, installWebTransport, MAX_WEB_REDIRECTS, WEB_FETCH_TIMEOUT_MS, WEB_PORTS, webFetch, type WebFetchOptions, type WebTransport } from "./webFetch.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base: string;
let port: number;
let handler: Handler;
let hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? "");
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  hits = [];
  handler = (_req, res) => res.end("ok");
  installWebTransport(undefined);
});

const TRANSPORTS: [string, () => WebTransport][] = [
  ["the runtime's fetch", () => hostWebTransport()],
  ["the Node transport", () => createNodeWebTransport({ testOnlyAllowLoopback: true })],
  // Like Convex's fetch, which shows no use of `signal`: the timeout must not depend on abort.
  ["a fetch that ignores abort signals", () => ({ fetch: (url, init) => fetch(url, { ...init, signal: undefined }), checksResolvedAddresses: false })],
];
const testing = (transport: WebTransport, extra: Partial<WebFetchOptions> = {}): WebFetchOptions => ({
  enabled: true,
  transport,
  testOnlyAllowLoopback: true,
  ...extra,
});

async function refusal(p: Promise<unknown>, code: LakituErrorCode): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isLakituError(e, code)) throw new Error(`expected a Lakitu "${code}" error, got ${e instanceof Error ? e.message : String(e)}`);
  return e.data.message;
}

describe("refusals before any request", () => {
  const production: WebFetchOptions = { enabled: true };

  test.each([
    ["file:///etc/passwd", /scheme file: is not allowed \(allowed: http, https\)/],
    ["ftp://example.com/x", /scheme ftp:/],
    ["http://user:pass@example.com/", /credentials in the URL/],
    ["https://example.com:8443/", /port 8443 is not allowed \(allowed: 80, 443/],
    ["http://169.254.169.254/latest/meta-data/", /cloud metadata address/],
    ["http://[fd00:ec2::254]/", /metadata/],
    ["http://metadata.google.internal/computeMetadata/v1/", /local or metadata/],
    ["http://10.0.0.1/", /private/],
    ["http://100.64.0.1/", /carrier-grade NAT/],
    ["http://[::ffff:169.254.169.254]/", /IPv4-mapped/],
  ])("%s", async (url, why) => {
    const message = await refusal(webFetch({ url }, production), "forbidden");
    expect(message).toMatch(/^web\.fetch url: /);
    expect(message).toMatch(why);
  });

  test("every spelling of the loopback test server is refused without the test escape, and nothing reaches it", async () => {
    for (const host of ["127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "localhost", "[::1]"]) {
      const message = await refusal(webFetch({ url: `http://${host}:${port}/` }, { enabled: true, transport: hostWebTransport() }), "forbidden");
      expect(message, host).toMatch(/loopback|local or metadata/);
    }
    expect(hits).toEqual([]);
  });

  test("web access off, a bad URL and a bad maxBytes each have their own error", async () => {
    expect(await refusal(webFetch({ url: base }, { enabled: false }), "forbidden")).toMatch(/configure\(\{ webEnabled: true \}\)/);
    expect(await refusal(webFetch({ url: "not a url" }, production), "invalid_argument")).toMatch(/web\.fetch url: "not a url" is not a URL/);
    expect(await refusal(webFetch({ url: base, maxBytes: 0 }, production), "invalid_argument")).toMatch(/maxBytes: 0 is not allowed \(an integer from 1 to 524288\)/);
    expect(hits).toEqual([]);
  });

  test("the description the model reads states the limits this module enforces", () => {
    const { description } = KSA_REGISTRY.find((k) => k.name === "web")!.functions.find((f) => f.name === "fetch")!;
    expect(description).toContain(`at most ${MAX_WEB_REDIRECTS} redirects`);
    expect(description).toContain(`${WEB_FETCH_TIMEOUT_MS / 1000} s`);
    expect(description).toContain(`ports ${WEB_PORTS.join(" and ")}`);
  });

  test("the agent cannot pass the test escape: the KSA's parameters are url and maxBytes only", () => {
    const fetchFn = KSA_REGISTRY.find((k) => k.name === "web")!.functions.find((f) => f.name === "fetch")!;
    expect(validateJson(fetchFn.params, { url: "http://example.com/" })).toEqual([]);
    for (const extra of ["testOnlyAllowLoopback", "transport", "enabled", "timeoutMs"]) {
      expect(validateJson(fetchFn.params, { url: "http://example.com/", [extra]: true }).length, extra).toBeGreaterThan(0);
    }
  });
});

describe.each(TRANSPORTS)("through %s", (_name, makeTransport) => {
  test("a plain GET returns status, content type and text", async () => {
    handler = (_req, res) => {
      res.writeHead(201, { "content-type": "text/plain; charset=utf-8" });
      res.end("héllo");
    };
    const result = await webFetch({ url: `${base}/page` }, testing(makeTransport()));
    expect(result).toEqual({ status: 201, contentType: "text/plain; charset=utf-8", text: "héllo", truncated: false });
    expect(hits).toEqual(["/page"]);
  });

  test.each([
    ["http://169.254.169.254/latest/meta-data/", /redirect 1 .*cloud metadata address/],
    ["http://10.1.2.3/", /redirect 1 .*private/],
    ["http://[::ffff:a9fe:a9fe]/", /redirect 1 .*IPv4-mapped/],
    ["http://2852039166/", /redirect 1 .*metadata/],
    ["http://metadata.google.internal/", /redirect 1 .*local or metadata/],
    ["file:///etc/passwd", /redirect 1 .*scheme file:/],
    ["http://user:pw@127.0.0.1:1/", /redirect 1 .*credentials/],
  ])("a redirect to %s is refused", async (location, why) => {
    handler = (_req, res) => {
      res.writeHead(302, { location });
      res.end();
    };
    const message = await refusal(webFetch({ url: `${base}/start` }, testing(makeTransport())), "forbidden");
    expect(message).toMatch(why);
    expect(hits).toEqual(["/start"]);
  });

  test(`${MAX_WEB_REDIRECTS} redirects are followed (relative Location too); one more is refused`, async () => {
    handler = (req, res) => {
      const n = Number(req.url!.split("/")[2]);
      if (n >= Number(req.url!.split("/")[3] ?? 0)) return res.end(`arrived after ${n}`);
      res.writeHead(n % 2 ? 301 : 307, { location: `/r/${n + 1}/${req.url!.split("/")[3]}` });
      res.end();
    };
    const ok = await webFetch({ url: `${base}/r/0/${MAX_WEB_REDIRECTS}` }, testing(makeTransport()));
    expect(ok.text).toBe(`arrived after ${MAX_WEB_REDIRECTS}`);
    hits = [];
    const message = await refusal(webFetch({ url: `${base}/r/0/99` }, testing(makeTransport())), "forbidden");
    expect(message).toMatch(new RegExp(`more than ${MAX_WEB_REDIRECTS} redirects .*at most ${MAX_WEB_REDIRECTS} are followed`));
    expect(hits).toHaveLength(MAX_WEB_REDIRECTS + 1);
  });

  test("a server that never answers times out with a provider_failed error", async () => {
    handler = () => {}; // holds the request open
    const message = await refusal(webFetch({ url: `${base}/hang` }, testing(makeTransport(), { timeoutMs: 300 })), "provider_failed");
    expect(message).toMatch(/web\.fetch url: no complete answer within 300 ms/);
  });

  test("a body that trickles forever times out too (the timeout covers the body)", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("a");
    };
    const message = await refusal(webFetch({ url: `${base}/trickle`, maxBytes: 1000 }, testing(makeTransport(), { timeoutMs: 300 })), "provider_failed");
    expect(message).toMatch(/no complete answer within 300 ms/);
  });

  test("an endless body is cut at maxBytes, the stream is cancelled, and the fetch returns", async () => {
    let closed!: () => void;
    const clientHungUp = new Promise<void>((resolve) => (closed = resolve));
    let written = 0;
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.on("close", closed);
      const chunk = "x".repeat(16 * 1024);
      const pump = () => {
        while (!res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
      };
      pump();
    };
    const result = await webFetch({ url: `${base}/endless`, maxBytes: 40_000 }, testing(makeTransport()));
    expect(result.truncated).toBe(true);
    expect(result.text).toBe("x".repeat(40_000));
    await clientHungUp; // the server sees the connection closed: the reader was cancelled, not drained
    expect(written).toBeGreaterThan(40_000);
  });

  test("a body of exactly maxBytes is not truncated", async () => {
    handler = (_req, res) => res.end("y".repeat(500));
    expect(await webFetch({ url: `${base}/exact`, maxBytes: 500 }, testing(makeTransport()))).toMatchObject({ text: "y".repeat(500), truncated: false });
    expect(await webFetch({ url: `${base}/exact`, maxBytes: 499 }, testing(makeTransport()))).toMatchObject({ text: "y".repeat(499), truncated: true });
  });
});

describe("every hop is checked under the production policy (no test escape)", () => {
  /** A transport that answers from a table, so redirects between public names need no network. */
  const table = (routes: Record<string, { status: number; location?: string }>): WebTransport => ({
    checksResolvedAddresses: false,
    fetch: async (url) => {
      hits.push(url.href);
      const r = routes[url.href];
      if (!r) throw new Error(`no route for ${url.href}`);
      return new Response(r.status === 200 ? "public page" : null, { status: r.status, headers: r.location ? { location: r.location } : {} });
    },
  });

  test.each([
    ["http://public.example:25/", /port 25 is not allowed/],
    ["http://127.0.0.1/", /loopback/],
    ["http://0x7f.1/admin", /loopback/],
    ["http://[::1]/", /loopback/],
    ["http://localhost/", /local or metadata/],
    ["gopher://public.example/", /scheme gopher:/],
  ])("a redirect from a public page to %s is refused", async (location, why) => {
    const transport = table({ "https://public.example/": { status: 301, location } });
    const message = await refusal(webFetch({ url: "https://public.example/" }, { enabled: true, transport }), "forbidden");
    expect(message).toMatch(/^web\.fetch redirect 1 /);
    expect(message).toMatch(why);
    expect(hits).toEqual(["https://public.example/"]);
  });

  test("public redirects are followed", async () => {
    const transport = table({ "https://public.example/": { status: 308, location: "/next" }, "https://public.example/next": { status: 200 } });
    expect(await webFetch({ url: "https://public.example/" }, { enabled: true, transport })).toMatchObject({ status: 200, text: "public page" });
  });
});

describe("the Node transport checks addresses after DNS and connects to the checked address", () => {
  const fakeDns = (table: Record<string, string[]>) => async (host: string) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  const dns = fakeDns({ "rebind.example": ["127.0.0.1"], "mixed.example": ["93.184.215.14", "10.0.0.7"], "app.example": ["127.0.0.1"] });

  test("a public-looking name that resolves to loopback is refused before any connection", async () => {
    const transport = createNodeWebTransport({ resolve: dns });
    const viaDns = await refusal(webFetch({ url: "http://rebind.example/" }, { enabled: true, transport }), "forbidden");
    expect(viaDns).toMatch(/web\.fetch url: rebind\.example resolves to 127\.0\.0\.1, a loopback address/);
    expect(hits).toEqual([]);
  });

  test("a name with any private address among its answers is refused", async () => {
    const transport = createNodeWebTransport({ resolve: dns });
    expect(await refusal(webFetch({ url: "https://mixed.example/" }, { enabled: true, transport }), "forbidden")).toMatch(/10\.0\.0\.7, a private address/);
  });

  test("a redirect to a name that resolves privately is refused at that hop", async () => {
    const transport = createNodeWebTransport({ resolve: fakeDns({ "rebind.example": ["169.254.169.254"] }), testOnlyAllowLoopback: true });
    handler = (_req, res) => {
      res.writeHead(302, { location: "http://rebind.example/latest/meta-data/" });
      res.end();
    };
    const message = await refusal(webFetch({ url: `${base}/go` }, testing(transport)), "forbidden");
    expect(message).toMatch(/redirect 1 \(to http:\/\/rebind\.example\/latest\/meta-data\/\): rebind\.example resolves to 169\.254\.169\.254/);
    expect(hits).toEqual(["/go"]);
  });

  test("the connection goes to the address that was checked (the name exists only in the checked answer)", async () => {
    const transport = createNodeWebTransport({ resolve: dns, testOnlyAllowLoopback: true });
    handler = (req, res) => res.end(`host=${req.headers.host}`);
    const result = await webFetch({ url: `http://app.example:${port}/pinned` }, testing(transport));
    expect(result.text).toBe(`host=app.example:${port}`);
  });

  test("an unknown name is a provider_failed error naming the host", async () => {
    const transport = createNodeWebTransport({ resolve: dns });
    expect(await refusal(webFetch({ url: "http://nowhere.example/" }, { enabled: true, transport }), "provider_failed")).toMatch(/could not reach nowhere\.example: .*ENOTFOUND/);
  });

  test("installWebTransport makes the gateway's default transport the checked one", async () => {
    installWebTransport(createNodeWebTransport({ resolve: dns }));
    expect(hostWebTransport().checksResolvedAddresses).toBe(true);
    expect(await refusal(webFetch({ url: "http://rebind.example/" }, { enabled: true }), "forbidden")).toMatch(/resolves to 127\.0\.0\.1/);
    installWebTransport(undefined);
    expect(hostWebTransport().checksResolvedAddresses).toBe(false);
  });
});
