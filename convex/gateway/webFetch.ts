/**
 * The `web.fetch` KSA, made by the component on the agent's behalf, and the policy that keeps it from
 * being turned against the deployment (SSRF).
 *
 * What every request gets, on every redirect hop:
 * - http(s) only; no credentials in the URL; ports 80 and 443 only (a web KSA reads pages and APIs;
 *   other ports mostly reach services that were never meant to be fetched, e.g. mail, databases,
 *   admin consoles, from an egress IP that other services may trust).
 * - the host refused when it is a literal address outside the public internet, in any spelling
 *   (`classifyHost` in convex/shared/ipAddress.ts), or a local/metadata/single-label name.
 * - `redirect: "manual"`: at most `MAX_WEB_REDIRECTS` redirects, each checked like the first URL.
 * - one overall timeout (`WEB_FETCH_TIMEOUT_MS`) covering resolution, connection, headers and body.
 * - the body read as a stream and cut at maxBytes: at most maxBytes plus one chunk is held, then the
 *   stream is cancelled.
 *
 * Names that DNS points at private addresses ("DNS rebinding", `127.0.0.1.nip.io`):
 * - Where a transport is installed (`installWebTransport`): the embedded deployment (cli/embedded)
 *   installs `createNodeWebTransport()` (convex/gateway/nodeWebTransport.ts), which checks every address
 *   DNS returns at connect time and connects to the address it checked. Covered, no rebinding window.
 *   Without an installed transport on Node (e.g. an app's own convex-test), names are not checked.
 * - In Convex's default runtime there is no DNS API and `fetch` cannot be pinned to an address, so
 *   this module cannot check resolved addresses there; it relies on the platform. Convex's backend
 *   sends function `fetch` through an egress proxy when `CONVEX_HTTP_PROXY` is configured and treats the
 *   proxy's refusal as "SSRF mitigated -- our proxy blocked this request because it was directed at a
 *   non-public IP range" (convex-backend `crates/common/src/http/fetch.rs`). That Convex Cloud runs
 *   with it is read from that source, not from Convex's documentation, and is not tested here.
 *   A self-hosted backend without the proxy logs "Running without a proxy in release mode -- UDF
 *   `fetch` requests are unrestricted!" (`crates/local_backend/src/lib.rs`): there a public name that
 *   resolves to a private address is NOT refused. Literal addresses and local names are, everywhere.
 * - Convex's `fetch` (udf-runtime `26_fetch.ts`) shows no use of `signal`, so on timeout a request
 *   there may finish in the background; the action stops waiting for it and reads nothing more.
 */
import { fail } from "../shared/errors.js";
import { MAX_WEB_FETCH_BYTES } from "../shared/defaults.js";
import { classifyHost, isLoopback, type Refusal } from "../shared/ipAddress.js";

export const WEB_FETCH_TIMEOUT_MS = 10_000;
export const MAX_WEB_REDIRECTS = 5;
export const DEFAULT_WEB_FETCH_BYTES = 256 * 1024;
export const WEB_PORTS = ["80", "443"] as const;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export type WebFetchArgs = { url: string; maxBytes?: number };
export type WebFetchResult = { status: number; contentType: string; text: string; truncated: boolean };

/** How requests leave the process. The default is the runtime's `fetch` with no address check. */
export type WebTransport = {
  /** Like `fetch`; called with `redirect: "manual"`. A refused address must reject with `WebDestinationRefused`. */
  fetch: (url: URL, init: RequestInit) => Promise<Response>;
  /** True when `fetch` checks the addresses it connects to (so names are covered after DNS). */
  checksResolvedAddresses: boolean;
};

export type WebFetchOptions = {
  /** configure({ webEnabled }); false refuses every request. */
  enabled: boolean;
  /** Default `WEB_FETCH_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Default `MAX_WEB_REDIRECTS`. */
  maxRedirects?: number;
  /** Default: the host-installed transport (`installWebTransport`), else the runtime's `fetch`. */
  transport?: WebTransport;
  /**
   * TEST ONLY: lets requests reach 127.0.0.0/8 and ::1, and lifts the port rule, so tests can use
   * loopback servers on random ports.
   * The gateway never sets it and agent input cannot reach it (the KSA's params are a strict object of
   * `url` and `maxBytes`). Every other refusal still applies.
   */
  testOnlyAllowLoopback?: boolean;
};

/** Thrown by a transport that refuses an address it resolved. */
export class WebDestinationRefused extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`${host} resolves to ${address}, ${reason}`);
    this.name = "WebDestinationRefused";
  }
}

const TRANSPORT_KEY = Symbol.for("lakitu.web.transport");

/** Installs the transport the gateway uses in this process (the Node host installs one that checks DNS). */
export function installWebTransport(transport: WebTransport | undefined): void {
  (globalThis as Record<symbol, unknown>)[TRANSPORT_KEY] = transport;
}

/** The installed transport, or the runtime's `fetch` (no check after DNS; see the module comment). */
export function hostWebTransport(): WebTransport {
  const installed = (globalThis as Record<symbol, unknown>)[TRANSPORT_KEY] as WebTransport | undefined;
  return installed ?? { fetch: (url, init) => fetch(url, init), checksResolvedAddresses: false };
}

/** Why `url` (the agent's URL or a redirect target) may not be requested, or null when it may. */
export function urlRefusal(url: URL, allowLoopback = false): Refusal {
  if (url.protocol !== "http:" && url.protocol !== "https:") return `the scheme ${url.protocol} is not allowed (allowed: http, https)`;
  if (url.username || url.password) return "credentials in the URL (user:pass@) are not allowed";
  if (allowLoopback && isLoopback(url.hostname)) return null;
  const host = classifyHost(url.hostname);
  if (host) return `the host ${url.hostname} is ${host}; only public internet hosts are allowed`;
  if (url.port && !allowLoopback && !(WEB_PORTS as readonly string[]).includes(url.port)) {
    return `port ${url.port} is not allowed (allowed: ${WEB_PORTS.join(", ")}, the http(s) defaults)`;
  }
  return null;
}

/** GETs `args.url` under the policy above. Errors are `ConvexError`s with a Lakitu code. */
export async function webFetch(args: WebFetchArgs, options: WebFetchOptions): Promise<WebFetchResult> {
  if (!options.enabled) fail("forbidden", "web access is off for this deployment; enable it with configure({ webEnabled: true })");
  const maxBytes = args.maxBytes ?? DEFAULT_WEB_FETCH_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_WEB_FETCH_BYTES) {
    fail("invalid_argument", `web.fetch maxBytes: ${maxBytes} is not allowed (an integer from 1 to ${MAX_WEB_FETCH_BYTES})`);
  }
  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    fail("invalid_argument", `web.fetch url: "${short(args.url)}" is not a URL (an absolute http(s) URL is allowed)`);
  }
  const timeoutMs = options.timeoutMs ?? WEB_FETCH_TIMEOUT_MS;
  const deadline = new Deadline(timeoutMs);
  try {
    return await fetchWithin(url, maxBytes, options, deadline);
  } finally {
    deadline.clear();
  }
}

async function fetchWithin(first: URL, maxBytes: number, options: WebFetchOptions, deadline: Deadline): Promise<WebFetchResult> {
  const transport = options.transport ?? hostWebTransport();
  const maxRedirects = options.maxRedirects ?? MAX_WEB_REDIRECTS;
  const chain: string[] = [];
  let url = first;
  for (let hop = 0; ; hop++) {
    const where = hop === 0 ? "web.fetch url" : `web.fetch redirect ${hop} (to ${short(url.href)})`;
    const refusal = urlRefusal(url, options.testOnlyAllowLoopback);
    if (refusal) fail("forbidden", `${where}: ${refusal}`);
    chain.push(short(url.href));
    const res = await request(transport, url, where, deadline);
    const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get("location") : null;
    if (res.type === "opaqueredirect") fail("provider_failed", `${where}: this runtime hides redirect targets, so the redirect cannot be checked`);
    if (location === null) return await readBody(res, maxBytes, where, deadline);
    void res.body?.cancel().catch(() => {});
    if (hop + 1 > maxRedirects) {
      fail("forbidden", `web.fetch: more than ${maxRedirects} redirects (${chain.join(" -> ")} -> ${short(location)}); at most ${maxRedirects} are followed`);
    }
    try {
      url = new URL(location, url);
    } catch {
      fail("provider_failed", `${where}: the server redirected to "${short(location)}", which is not a URL`);
    }
  }
}

/** URLs in error messages are cut: a chain of six 4 KiB URLs must not make a 25 KB message. */
const short = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}...` : text);

async function request(transport: WebTransport, url: URL, where: string, deadline: Deadline): Promise<Response> {
  try {
    return await deadline.race(transport.fetch(url, { method: "GET", redirect: "manual", signal: deadline.signal }), where);
  } catch (e) {
    if (e instanceof WebTimeout) e.toConvexError();
    if (deadline.hasExpired) new WebTimeout(where, deadline.ms).toConvexError();
    const refused = asRefused(e);
    if (refused) fail("forbidden", `${where}: ${refused.message}; only public internet hosts are allowed`);
    const message = e instanceof Error ? e.message : String(e);
    fail("provider_failed", `${where}: the deployment could not reach ${url.host}: ${message} (does it have network access?)`);
  }
}

/** Reads at most maxBytes (plus the chunk that crosses it), then cancels the stream. */
async function readBody(res: Response, maxBytes: number, where: string, deadline: Deadline): Promise<WebFetchResult> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = res.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await deadline.race(reader.read(), where);
      if (done) break;
      if (value.byteLength > maxBytes - size) {
        chunks.push(value.subarray(0, maxBytes - size));
        size = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (e) {
    void reader?.cancel().catch(() => {});
    if (e instanceof WebTimeout) e.toConvexError();
    if (deadline.hasExpired) new WebTimeout(where, deadline.ms).toConvexError();
    fail("provider_failed", `${where}: reading the body failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (truncated) void reader?.cancel().catch(() => {});
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text: new TextDecoder().decode(bytes), truncated };
}

/** By name, not instanceof: the host may load the transport from another copy of this module (dist vs source). */
function asRefused(e: unknown): Error | null {
  for (let cur = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof Error && cur.name === "WebDestinationRefused") return cur;
  }
  return null;
}

class WebTimeout extends Error {
  constructor(
    readonly where: string,
    readonly ms: number,
  ) {
    super(`${where}: timed out after ${ms} ms`);
  }
  toConvexError(): never {
    fail("provider_failed", `${this.where}: no complete answer within ${this.ms} ms (the web.fetch timeout covers the whole request, body included)`);
  }
}

/**
 * One overall deadline. Convex's `fetch` may ignore `signal`, so every wait is raced against the timer
 * instead of relying on abort; the signal is still passed for runtimes that honour it.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly expired: Promise<never>;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private where = "web.fetch";
  hasExpired = false;

  constructor(readonly ms: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => {
        this.hasExpired = true;
        reject(new WebTimeout(this.where, ms)); // before abort, so races see the timeout, not an AbortError
        this.controller.abort();
      }, ms);
    });
    this.expired.catch(() => {}); // handled by whichever race is waiting; never an unhandled rejection
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  race<T>(p: Promise<T>, where: string): Promise<T> {
    this.where = where;
    return Promise.race([p, this.expired]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
