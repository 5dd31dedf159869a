/**
 * The component bridge: a sandbox without network reaches the component only through a unix socket the
 * host listens on (`<sandbox dir>/run/component.sock`, seen inside as /run/lakitu/component.sock, owned
 * by the sandbox's root, mode 0600 in a 0700 directory, so only root in the sandbox can connect).
 *
 * Every HTTP request arriving there goes to ONE upstream origin, whatever its request line or `Host`
 * header names: path and query are kept, method, headers and body are streamed, hop-by-hop headers are
 * dropped both ways. Without an upstream, or when the upstream cannot be reached, the answer is 502 with
 * a message saying why.
 */
import { chmod, chown, rm } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import https from "node:https";

/** Where the bridge socket appears inside a sandbox (bwrap isolation). */
export const COMPONENT_SOCKET = "/run/lakitu/component.sock";
/** The variable that tells a sandbox's runtime where the bridge is. */
export const COMPONENT_SOCKET_ENV = "LAKITU_COMPONENT_SOCKET";

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

export type ComponentBridge = { socketPath: string; close(): Promise<void> };

/** A host option with a bad value; the message names the option, what was wrong and what is allowed. */
export class InvalidHostOptionError extends Error {
  readonly code = "invalid_option";
}

/**
 * Checks an upstream option: an http(s) origin (no path, query or credentials). Throws an error naming
 * the option and what is allowed.
 */
export function parseUpstream(raw: string | undefined, option = "componentUrl"): URL | undefined {
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidHostOptionError(`${option} must be an http(s) URL such as http://127.0.0.1:3210, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidHostOptionError(`${option} must use http or https, got ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) throw new InvalidHostOptionError(`${option} must not carry credentials`);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash)
    throw new InvalidHostOptionError(`${option} must be an origin (scheme, host, port) without path or query, got ${JSON.stringify(raw)}`);
  return new URL(url.origin);
}

/** Headers without hop-by-hop ones (including those the Connection header names). */
function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = String(headers.connection ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.includes(k) || named.includes(k) || k === "host") continue;
    out[k] = v;
  }
  return out;
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ code: "bridge_unavailable", message });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Forwards one request to `upstream` (the only origin it may reach) and streams the answer back. */
export function forward(req: IncomingMessage, res: ServerResponse, upstream: URL | undefined): void {
  if (!upstream) {
    req.resume();
    return fail(
      res,
      502,
      "the sandbox host has no component URL to bridge to: start it with componentUrl (lakitu sandbox serve --component-url URL)",
    );
  }
  // Absolute-form request targets (`GET http://elsewhere/x`) keep only their path and query.
  const target = new URL(req.url ?? "/", "http://bridge.invalid");
  const lib = upstream.protocol === "https:" ? https : http;
  const out = lib.request(
    {
      protocol: upstream.protocol,
      hostname: upstream.hostname.replace(/^\[|\]$/g, ""),
      port: upstream.port || undefined,
      method: req.method,
      path: `${target.pathname}${target.search}`,
      headers: { ...endToEnd(req.headers), host: upstream.host },
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, endToEnd(up.headers));
      up.pipe(res);
      up.on("error", () => res.destroy());
    },
  );
  out.on("error", (e) => fail(res, 502, `the component at ${upstream.origin} could not be reached: ${e.message}`));
  res.on("close", () => {
    if (!res.writableFinished) out.destroy();
  });
  req.pipe(out);
}

/**
 * Listens on `socketPath` (removed first if left over), owned by `owner` with mode 0600 (the caller
 * makes the directory 0700 and owns it the same way), and bridges to `upstream`.
 */
export async function startComponentBridge(opts: {
  socketPath: string;
  upstream: URL | undefined;
  owner?: { uid: number; gid: number };
}): Promise<ComponentBridge> {
  const { socketPath, upstream, owner } = opts;
  await rm(socketPath, { force: true });
  const server = http.createServer((req, res) => forward(req, res, upstream));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  if (owner) await chown(socketPath, owner.uid, owner.gid);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
