/**
 * `fetch` over a unix socket. In a sandbox without network, the host provides the component as a unix
 * socket (`LAKITU_COMPONENT_SOCKET`) that only the runtime's uid may open and that the host bridges to
 * the component's origin; the URL's path and query are sent as they are, its host only as the Host
 * header. Implements what `LakituClient` uses: method, headers, a string or byte body, an abort signal,
 * and a buffered response.
 */
import { request, type RequestOptions } from "node:http";
import { webResponse } from "../convex/shared/webResponse.js";

export function socketFetch(socketPath: string): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const headers: Record<string, string> = { host: url.host };
    for (const [key, value] of headerEntries(init.headers)) headers[key] = value;
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
      throw new TypeError("socketFetch sends string or Uint8Array bodies only");
    }
    if (body !== undefined && body !== null) headers["content-length"] = String(Buffer.byteLength(body));
    return await new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
      // `servername: ""`: no TLS on this socket, and it spares the agent's isIP check of the host, whose
      // first call compiles a large regex (~5 ms before the runtime's first request).
      const options = { socketPath, path: `${url.pathname}${url.search}`, method: init.method ?? "GET", headers, servername: "" };
      const req = request(options as RequestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => resolve(webResponse(res, Buffer.concat(chunks))));
      });
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e) => {
        signal?.removeEventListener("abort", onAbort);
        reject(new TypeError(`fetch failed: ${e.message}`, { cause: e }));
      });
      req.on("close", () => signal?.removeEventListener("abort", onAbort));
      req.end(body ?? undefined);
    });
  }) as typeof fetch;
}

/**
 * The request's headers, names lowercased, without the global `Headers`: on Node 20 its first use loads
 * undici (tens of ms), which would hold back the runtime's first request.
 */
function headerEntries(h: RequestInit["headers"]): Array<[string, string]> {
  if (!h) return [];
  if (Array.isArray(h)) return h.map(([k, v]) => [String(k).toLowerCase(), String(v)]);
  if (typeof (h as Headers).forEach === "function") {
    const out: Array<[string, string]> = [];
    (h as Headers).forEach((v, k) => out.push([k.toLowerCase(), v]));
    return out;
  }
  return Object.entries(h as Record<string, string>).map(([k, v]) => [k.toLowerCase(), String(v)]);
}
