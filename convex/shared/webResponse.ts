/**
 * A fetch `Response` built from what a Node HTTP client received (`IncomingMessage`'s status and
 * headers), for the fetch-shaped transports over node:http (the web KSA's DNS-checking transport, the
 * runtime's unix-socket fetch). Pure: no Node import.
 */

/** Statuses whose response has no body (the `Response` constructor refuses one). */
export function hasNullBody(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

/**
 * Repeated headers are appended; `body` is dropped for null-body statuses; a status outside 200–599
 * (a 1xx given as final, or none) is the server's error and becomes 502.
 */
export function webResponse(
  res: { statusCode?: number; statusMessage?: string; headers: Record<string, string | string[] | undefined> },
  body: ConstructorParameters<typeof Response>[0],
): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const status = res.statusCode ?? 502;
  const valid = status >= 200 && status <= 599;
  return new Response(valid && hasNullBody(status) ? null : body, { status: valid ? status : 502, statusText: valid ? (res.statusMessage ?? "") : "", headers });
}
