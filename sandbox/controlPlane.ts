/**
 * E2B's control-plane REST API, the subset the `e2b` SDK's Sandbox class uses (every route requires the
 * `X-API-KEY` header; errors are `{code, message}` with the HTTP status as code):
 *
 * - `POST /v2/sandboxes` → 201 `{sandboxID, templateID, clientID, envdVersion, envdAccessToken, domain}`;
 *   404 for a template not accepted; 429 + `Retry-After` at `maxSandboxes`; 400 for what cannot be
 *   honoured locally (pause on timeout, volumes, network restrictions, MCP).
 * - `GET /v2/sandboxes?metadata=&state=&template=&startedAfter=&order=&limit=&nextToken=` → 200 list,
 *   `X-Next-Token` while more pages remain.
 * - `GET /sandboxes/{id}` → 200 detail (state `running`), 404 when unknown or gone.
 * - `DELETE /sandboxes/{id}` → 204 once every process is gone and the directory deleted; 404 unknown.
 * - `POST /sandboxes/{id}/timeout {timeout}` and `POST /sandboxes/{id}/refreshes {duration}` → 204.
 * - `POST /v2/sandboxes/{id}/connect {timeout?}` → 200 (a running sandbox; the timeout only grows).
 * - `POST /sandboxes/{id}/pause` → 400: pausing is not supported locally.
 * - durations (`timeout`, `duration`) must be integers in [0, maxTimeoutSeconds] (24 h by default):
 *   anything else is refused with 400 naming the maximum, never clamped; metadata and envVars must map
 *   names to strings.
 * - metrics, logs, snapshots, fork, network rules → 501 naming the feature; anything else → 501.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import os from "node:os";
import { BodyTooLargeError, readBody, sendError, sendJson, sendNoContent } from "./httpUtil.js";
import type { Sandbox, SandboxRegistry } from "./sandboxes.js";

export const ENVD_VERSION = "0.5.7";

export type ControlPlaneOptions = {
  registry: SandboxRegistry;
  /** Accepted template names; undefined accepts any. */
  templates: ReadonlySet<string> | undefined;
  retryAfterSeconds: number;
  /** `isolated`: sandboxes have no network (so `allowInternetAccess: false` is what they get anyway). */
  network: "isolated" | "shared";
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw: Buffer;
  try {
    raw = await readBody(req, 1 << 20);
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw new HttpError(400, e.message);
    throw e;
  }
  if (raw.length === 0) return {};
  try {
    const value = JSON.parse(raw.toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, "request body must be a JSON object");
}

function stringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, `${field} must be an object of strings`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new HttpError(400, `${field}.${k} must be a string, got ${v === null ? "null" : typeof v}`);
  }
  return { ...(value as Record<string, string>) };
}

/** A duration in seconds: a non-negative integer no longer than `max` (refused, not clamped). */
function seconds(value: unknown, field: string, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    throw new HttpError(400, `${field} must be a non-negative integer (seconds), got ${JSON.stringify(value)}`);
  if (value > max) throw new HttpError(400, `${field} ${value} s exceeds the maximum of ${max} s (${formatDuration(max)})`);
  return value;
}

function formatDuration(s: number): string {
  return s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

const hardware = () => ({ cpuCount: os.availableParallelism(), memoryMB: Math.round(os.totalmem() / 2 ** 20), diskSizeMB: 0 });

function listed(s: Sandbox) {
  return {
    templateID: s.templateId,
    alias: s.templateId,
    sandboxID: s.id,
    clientID: "local",
    startedAt: s.startedAt.toISOString(),
    endAt: s.endAt.toISOString(),
    ...hardware(),
    metadata: s.metadata,
    state: "running" as const,
    envdVersion: ENVD_VERSION,
    volumeMounts: [],
  };
}

function created(s: Sandbox) {
  return {
    sandboxID: s.id,
    templateID: s.templateId,
    alias: s.templateId,
    clientID: "local",
    envdVersion: ENVD_VERSION,
    envdAccessToken: s.accessToken,
    trafficAccessToken: null,
    domain: null,
  };
}

/** Sandbox actions E2B has and the local host refuses (501 with a message naming the feature). */
const UNSUPPORTED_ACTIONS: Record<string, string> = {
  "GET metrics": "metrics are not collected",
  "GET logs": "logs are not served",
  "POST snapshots": "snapshots are not supported (there is no VM to checkpoint)",
  "POST fork": "fork is not supported (there is no VM to checkpoint)",
  "PUT network": "network rules are not supported (sandboxes have no network, or the host's whole network with --shared-network)",
};

export async function handleControlPlane(req: IncomingMessage, res: ServerResponse, url: URL, opts: ControlPlaneOptions): Promise<void> {
  try {
    await route(req, res, url, opts);
  } catch (e) {
    if (e instanceof HttpError) return sendError(res, e.status, e.message);
    throw e;
  }
}

async function route(req: IncomingMessage, res: ServerResponse, url: URL, opts: ControlPlaneOptions): Promise<void> {
  const { registry } = opts;
  const method = req.method ?? "GET";
  const p = url.pathname.replace(/\/+$/, "");

  if (method === "POST" && (p === "/v2/sandboxes" || p === "/sandboxes")) return create(req, res, opts);
  if (method === "GET" && (p === "/v2/sandboxes" || p === "/sandboxes")) return list(res, url, registry);

  const m = /^(?:\/v2)?\/sandboxes\/([^/]+)(?:\/([a-z]+))?$/.exec(p);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    const action = m[2];
    // A sandbox the host killed for a resource limit answers with why (sandboxLimits.ts).
    const notFound = () => sendError(res, 404, registry.goneReason(id) ?? `sandbox "${id}" not found`);
    if (!action && method === "GET") {
      const s = registry.get(id);
      return s ? sendJson(res, 200, { ...listed(s), envdAccessToken: s.accessToken, domain: null }) : notFound();
    }
    if (!action && method === "DELETE") return (await registry.kill(id)) ? sendNoContent(res) : notFound();
    const max = registry.limits.maxTimeoutSeconds;
    if (method === "POST" && action === "timeout") {
      const timeout = seconds((await jsonBody(req)).timeout, "timeout", max);
      if (timeout === undefined) throw new HttpError(400, "timeout is required");
      const s = registry.get(id);
      if (!s) return notFound();
      s.setTimeout(timeout);
      return sendNoContent(res);
    }
    if (method === "POST" && action === "refreshes") {
      const duration = seconds((await jsonBody(req)).duration, "duration", max) ?? 60;
      const s = registry.get(id);
      if (!s) return notFound();
      s.setTimeout(duration);
      return sendNoContent(res);
    }
    if (method === "POST" && (action === "connect" || action === "resume")) {
      const timeout = seconds((await jsonBody(req)).timeout, "timeout", max);
      const s = registry.get(id);
      if (!s) return notFound();
      if (timeout !== undefined && Date.now() + timeout * 1000 > s.endAt.getTime()) s.setTimeout(timeout);
      return sendJson(res, 200, created(s));
    }
    if (method === "POST" && action === "pause") {
      if (!registry.get(id)) return notFound();
      throw new HttpError(400, "pause is not supported by the local sandbox host: sandboxes run until killed or timed out");
    }
    const refusal = action ? UNSUPPORTED_ACTIONS[`${method} ${action}`] : undefined;
    if (refusal) return sendError(res, 501, `${refusal} by the local sandbox host`);
  }
  if (method === "GET" && p === "/snapshots") return sendError(res, 501, "snapshots are not supported by the local sandbox host");
  sendError(res, 501, `${method} ${url.pathname} is not implemented by the local sandbox host`);
}

async function create(req: IncomingMessage, res: ServerResponse, opts: ControlPlaneOptions): Promise<void> {
  const body = await jsonBody(req);
  const templateId = body.templateID;
  if (typeof templateId !== "string" || templateId === "") throw new HttpError(400, "templateID is required");
  const metadata = stringRecord(body.metadata, "metadata");
  const envVars = stringRecord(body.envVars, "envVars");
  for (const [name, value] of Object.entries(envVars)) {
    if (!/^[^=\0]+$/.test(name) || value.includes("\0")) throw new HttpError(400, `invalid environment variable ${JSON.stringify(name)}`);
  }
  const timeoutSeconds = seconds(body.timeout, "timeout", opts.registry.limits.maxTimeoutSeconds);
  if (body.autoPause === true)
    throw new HttpError(400, "pause is not supported by the local sandbox host (lifecycle.onTimeout must be 'kill')");
  if (Array.isArray(body.volumeMounts) && body.volumeMounts.length > 0)
    throw new HttpError(400, "volumes are not supported by the local sandbox host");
  if (body.mcp) throw new HttpError(400, "MCP is not supported by the local sandbox host");
  // Isolated: no sandbox has a network, so "no internet" is honoured and "internet" cannot be.
  if (opts.network === "isolated" && body.allow_internet_access === true)
    throw new HttpError(
      400,
      "allowInternetAccess: true is not supported by this local sandbox host: sandboxes have no network (start it with --shared-network)",
    );
  if (opts.network === "shared" && body.allow_internet_access === false)
    throw new HttpError(
      400,
      "allowInternetAccess: false is not supported by this local sandbox host: it shares its network with sandboxes (--shared-network)",
    );
  checkNetworkRules(body.network, opts.network);
  if (opts.templates && !opts.templates.has(templateId)) throw new HttpError(404, `template '${templateId}' not found`);
  const { registry } = opts;
  if (registry.size >= registry.limits.maxSandboxes) {
    return sendError(res, 429, `the local sandbox host already runs its maximum of ${registry.limits.maxSandboxes} sandboxes`, {
      "retry-after": String(opts.retryAfterSeconds),
    });
  }
  const sandbox = await registry.create({ templateId, metadata, envVars, timeoutSeconds });
  sendJson(res, 201, created(sandbox));
}

/**
 * Network rules on create. Isolated sandboxes have no network at all, so rules that deny everything
 * (`denyOut: ["0.0.0.0/0"]`, with or without `allowOut` exceptions — the E2B provider allows only the
 * component's host, which a local sandbox reaches through its bridge socket) are honoured as "nothing
 * more than that"; rules that leave the internet open, other rule kinds, and any rule on a host that
 * shares its network are refused.
 */
function checkNetworkRules(network: unknown, mode: "isolated" | "shared"): void {
  if (network === undefined || network === null) return;
  if (typeof network !== "object" || Array.isArray(network)) throw new HttpError(400, "network must be an object");
  const keys = Object.keys(network);
  if (keys.length === 0) return;
  const unsupported = "network rules are not supported by this local sandbox host";
  if (mode === "shared") throw new HttpError(400, `${unsupported}: it shares its network with sandboxes (--shared-network)`);
  const other = keys.filter((k) => k !== "allowOut" && k !== "denyOut");
  if (other.length > 0)
    throw new HttpError(400, `network.${other[0]} is not supported by the local sandbox host: only allowOut/denyOut that deny all traffic`);
  const { allowOut, denyOut } = network as { allowOut?: unknown; denyOut?: unknown };
  for (const [name, list] of [
    ["allowOut", allowOut],
    ["denyOut", denyOut],
  ] as const) {
    if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== "string")))
      throw new HttpError(400, `network.${name} must be a list of strings`);
  }
  if (!(denyOut as string[] | undefined)?.includes("0.0.0.0/0"))
    throw new HttpError(
      400,
      `${unsupported} unless they deny all traffic (denyOut: ["0.0.0.0/0"]): sandboxes here have no network at all (the component is reached through /run/lakitu/component.sock)`,
    );
}

/** The SDK's metadata query: `k=v&k2=v2` with keys and values URL-encoded (then the whole encoded again). */
export function parseMetadataQuery(raw: string | null): Record<string, string> | undefined {
  if (raw === null || raw === "") return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    out[decode(k)] = decode(v);
  }
  return out;
}

function list(res: ServerResponse, url: URL, registry: SandboxRegistry): void {
  const q = url.searchParams;
  const metadata = parseMetadataQuery(q.get("metadata"));
  const states = q
    .getAll("state")
    .flatMap((s) => s.split(","))
    .filter(Boolean);
  const template = q.get("template") || undefined;
  const startedAfterRaw = q.get("startedAfter");
  const startedAfter = startedAfterRaw ? Date.parse(startedAfterRaw) : undefined;
  if (startedAfter !== undefined && Number.isNaN(startedAfter)) throw new HttpError(400, "startedAfter must be an ISO date");
  const order = q.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw new HttpError(400, "order must be asc or desc");
  const limitRaw = q.get("limit");
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, "limit must be a positive integer");

  const key = (s: Sandbox): [number, string] => [s.startedAt.getTime(), s.id];
  const cmp = (a: [number, string], b: [number, string]) =>
    (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)) * (order === "asc" ? 1 : -1);
  // Every local sandbox is `running` (there is no pause): a state filter without it matches none.
  const stateMatches = states.length === 0 || states.includes("running");
  let items = registry
    .all()
    .filter(() => stateMatches)
    .filter((s) => !template || s.templateId === template)
    .filter((s) => startedAfter === undefined || s.startedAt.getTime() >= startedAfter)
    .filter((s) => !metadata || Object.entries(metadata).every(([k, v]) => s.metadata[k] === v))
    .sort((a, b) => cmp(key(a), key(b)));
  const total = items.length;
  const token = q.get("nextToken");
  if (token) {
    let after: [number, string];
    try {
      const [ms, id] = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as [number, string];
      if (typeof ms !== "number" || typeof id !== "string") throw new Error();
      after = [ms, id];
    } catch {
      throw new HttpError(400, "invalid nextToken");
    }
    items = items.filter((s) => cmp(key(s), after) > 0);
  }
  const page = items.slice(0, Math.min(limit, 100));
  const headers: Record<string, string> = { "x-total-running": String(total) };
  if (items.length > page.length) headers["x-next-token"] = Buffer.from(JSON.stringify(key(page[page.length - 1]!))).toString("base64url");
  sendJson(res, 200, page.map(listed), headers);
}
