/**
 * The `web.fetch` transport for hosts that run the component on Node (the embedded default, tests):
 * DNS is checked where the connection is made. Node's `lookup` hook receives every address the name
 * resolves to; if any is outside the public internet the request fails with `WebDestinationRefused`,
 * otherwise the socket connects to the address that was checked, so a name cannot be re-resolved to a
 * private address between the check and the connection (DNS rebinding).
 *
 * Node only (imports node:http); never import it from convex/component/. The host installs it with
 * `installNodeWebTransport()` before it runs the component.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { Readable } from "node:stream";
import { classifyAddress, isLoopback } from "../shared/ipAddress.js";
import { hasNullBody, webResponse } from "../shared/webResponse.js";
import { installWebTransport, WebDestinationRefused, type WebTransport } from "./webFetch.js";

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export type NodeWebTransportOptions = {
  /** Default: the system resolver (`dns.lookup` with `all: true`). Tests pass a fake one. */
  resolve?: Resolver;
  /** TEST ONLY: loopback addresses pass the check (see `WebFetchOptions.testOnlyAllowLoopback`). */
  testOnlyAllowLoopback?: boolean;
};

const systemResolve: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** A `lookup` for `http.request` that refuses names resolving to any non-public address. */
export function checkedLookup(options: NodeWebTransportOptions = {}): LookupFunction {
  const resolve = options.resolve ?? systemResolve;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
        const usable = addresses.filter((a) => family === 0 || a.family === family);
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 0);
        for (const a of addresses) {
          if (options.testOnlyAllowLoopback && isLoopback(a.address)) continue;
          const why = classifyAddress(a.address);
          if (why) return callback(new WebDestinationRefused(hostname, a.address, why), "", 0);
        }
        if (lookupOptions.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}

/** A transport whose connections go only to checked addresses. */
export function createNodeWebTransport(options: NodeWebTransportOptions = {}): WebTransport {
  const lookup = checkedLookup(options);
  return {
    checksResolvedAddresses: true,
    fetch: (url, init) =>
      new Promise<Response>((resolve, reject) => {
        const send = url.protocol === "https:" ? httpsRequest : httpRequest;
        const req = send(url, { method: "GET", lookup, signal: init.signal ?? undefined, headers: { accept: "*/*", "accept-encoding": "identity" } }, (res) => {
          resolve(toResponse(res));
        });
        req.on("error", reject);
        req.end();
      }),
  };
}

function toResponse(res: IncomingMessage): Response {
  if (hasNullBody(res.statusCode ?? 502)) {
    res.resume();
    return webResponse(res, null);
  }
  return webResponse(res, Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
}

/** Installs `createNodeWebTransport()` as the gateway's transport in this process. */
export function installNodeWebTransport(options: NodeWebTransportOptions = {}): void {
  installWebTransport(createNodeWebTransport(options));
}
