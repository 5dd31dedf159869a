/**
 * The runtime-facing HTTP routes, written once and mounted two ways: by the component's own `http.ts`
 * (served under the app's `httpPrefix`) and by `registerRoutes(http)` in the client for apps that mount
 * them themselves. Bodies are parsed with zod; every error is JSON `{ ok: false, code, message }`.
 *
 * Every request carries `Authorization: Bearer <session token>` and `X-Lakitu-Generation: <n>`.
 */
import type { FunctionReference, GenericActionCtx, GenericDataModel } from "convex/server";
import { ConvexError } from "convex/values";
import { z } from "zod";
import { fail, type LakituErrorCode } from "./errors.js";
import { jsonDepth, MAX_JSON_DEPTH } from "./jsonLimits.js";
import { MAX_ARGUMENT_UPLOAD_BYTES, MAX_ROUTE_UPLOAD_BYTES } from "./uploadLimits.js";

type Mut = FunctionReference<"mutation", any, any, any>;
type Q = FunctionReference<"query", any, any, any>;
type Act = FunctionReference<"action", any, any, any>;
/** The runtime-facing functions of the component, as the mounting side sees them. */
export type RuntimeApi = {
  runtime: {
    events: Mut;
    heartbeat: Mut;
    complete: Mut;
    inbox: Mut;
    uploadArtifact: Act;
    restoreArtifact: Act;
    /** Where a restorable file is stored (the component's own routes stream it from storage). */
    restoreSource?: Q;
    beginUpload: Mut;
    commitArtifact: Mut;
  };
  gateway: { task: Mut; llm: Act; ksa: Act };
};
type Ctx = Pick<GenericActionCtx<GenericDataModel>, "runQuery" | "runMutation" | "runAction" | "storage">;
/**
 * How the routes are mounted. `ownStorage`: the HTTP actions run inside the component (its own
 * http.ts, served under the app's `httpPrefix`), so `ctx.storage` is the component's and the
 * `artifacts` route stores the body there itself. Mounted by the app (`registerRoutes`), `ctx.storage`
 * is the app's: the route passes the bytes to a component action instead (at most
 * MAX_ARGUMENT_UPLOAD_BYTES, Convex's argument limit).
 */
export type RouteOptions = { ownStorage?: boolean };
export type RouteHandler = (ctx: Ctx, request: Request) => Promise<Response>;
export type Route = { path: string; method: "POST"; handler: RouteHandler };

/** Request bodies above this are refused before parsing (artifacts have their own limit). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;
/**
 * Per-route JSON body caps in bytes, checked before decoding; routes not listed get
 * MAX_JSON_BODY_BYTES (events: a batch; llm: a 256 KiB observation, escaped).
 */
export const JSON_BODY_LIMITS: Readonly<Record<string, number>> = {
  ksa: 256 * 1024,
  complete: 512 * 1024,
  task: 16 * 1024,
  inbox: 16 * 1024,
  restore: 16 * 1024,
  heartbeat: 16 * 1024,
};

const STATUS: Record<LakituErrorCode, number> = {
  invalid_argument: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  stale: 409,
  too_large: 413,
  provider_failed: 502,
  forbidden: 403,
  model_failed: 502,
  misconfigured: 500,
  busy: 409,
  uploads_closed: 409,
  quota_exceeded: 413,
};

const zEvent = z.object({
  seq: z.number().int().nonnegative(),
  kind: z.string().min(1).max(64),
  level: z.enum(["debug", "info", "warn", "error"]).optional(),
  text: z.string().optional(),
  data: z.unknown().optional(),
  ts: z.number().optional(),
}).strict();
export const zEventsBody = z.object({ events: z.array(zEvent) }).strict();
export const zCompleteBody = z
  .object({
    status: z.enum(["succeeded", "failed", "canceled"]),
    summary: z.string().optional(),
    error: z.string().optional(),
    manifest: z.array(z.object({ name: z.string(), type: z.string().optional(), sha256: z.string().optional() }).strict()).default([]),
    eventCount: z.number().int().nonnegative().max(1e9).optional(),
  })
  .strict();
export const zInboxBody = z.object({ afterSeq: z.number().int().min(-1) }).strict();
export const zTaskBody = z.object({ runtimeVersion: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional() }).strict();
export const zLlmBody = z.object({ step: z.number().int().nonnegative(), observation: z.string().max(256 * 1024) }).strict();
export const zRestoreBody = z.object({ artifactId: z.string().min(1).max(64) }).strict();
const zSha256 = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be the file's SHA-256 as 64 hex digits");
export const zUploadUrlBody = z
  .object({
    name: z.string().min(1).max(1024),
    size: z.number().int().nonnegative(),
    sha256: zSha256,
    type: z.string().max(64).optional(),
    contentType: z.string().max(200).optional(),
  })
  .strict();
export const zCommitBody = z
  .object({
    name: z.string().min(1).max(1024),
    storageId: z.string().min(1).max(128),
    sha256: zSha256,
    size: z.number().int().nonnegative(),
    type: z.string().max(64).optional(),
    contentType: z.string().max(200).optional(),
  })
  .strict();
export const zKsaBody = z.object({ ksa: z.string().min(1).max(64), fn: z.string().min(1).max(64), args: z.unknown().optional() }).strict();

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
function problem(status: number, code: string, message: string, path?: string): Response {
  return json(status, path === undefined ? { ok: false, code, message } : { ok: false, code, message, path });
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The body field at fault, as a path like `events[0].level`. */
    readonly path?: string,
  ) {
    super(message);
  }
}

/** A zod issue path as the component's errors write paths: `events[0].level`. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("");
}

function authOf(request: Request): { token: string; generation: number } {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new HttpProblem(401, "unauthorized", "missing bearer token: send Authorization: Bearer <LAKITU_TOKEN>");
  const gen = request.headers.get("x-lakitu-generation");
  if (gen === null || !/^\d{1,15}$/.test(gen)) {
    throw new HttpProblem(400, "invalid_argument", "missing or malformed X-Lakitu-Generation header: send the LAKITU_GENERATION value");
  }
  return { token: match[1], generation: Number(gen) };
}

async function readBody(request: Request, max: number, route?: string): Promise<Uint8Array> {
  const at = route ? `POST /${route}: ` : "";
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) throw new HttpProblem(413, "too_large", `${at}request body is ${declared} bytes; the limit is ${max}`);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > max) throw new HttpProblem(413, "too_large", `${at}request body is ${bytes.byteLength} bytes; the limit is ${max}`);
  return bytes;
}

/** Bodies and query values that are not UTF-8 are refused with 400 and this code, never decoded lossily. */
export const INVALID_ENCODING = "invalid_encoding";

function utf8Text(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpProblem(400, INVALID_ENCODING, `${what} is not valid UTF-8; send UTF-8 text (JSON bodies must be UTF-8 encoded)`);
  }
}

/** Query values must percent-decode to UTF-8 (URLSearchParams would silently turn bad bytes into U+FFFD). */
function checkQueryEncoding(url: URL): void {
  for (const part of url.search.replace(/^\?/, "").split("&")) {
    const [key, value = ""] = part.split("=");
    try {
      decodeURIComponent(key.replace(/\+/g, " "));
      decodeURIComponent(value.replace(/\+/g, " "));
    } catch {
      throw new HttpProblem(400, INVALID_ENCODING, `query parameter "${key.slice(0, 40)}" is not percent-encoded UTF-8`);
    }
  }
}

async function readJson<T>(request: Request, schema: z.ZodType<T>, route: string): Promise<T> {
  const bytes = await readBody(request, JSON_BODY_LIMITS[route] ?? MAX_JSON_BODY_BYTES, route);
  const text = utf8Text(bytes, "request body");
  // Before parsing: a deep body would overflow the parser's (or JSON.stringify's) stack, a 500.
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new HttpProblem(
      400,
      "invalid_argument",
      `POST /${route}: the JSON body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep; the limit is ${MAX_JSON_DEPTH} (Convex's nesting limit, the body's own levels included); flatten the data`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpProblem(400, "invalid_argument", `body is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${issuePath(i.path) || "(body)"}: ${i.message}`);
    throw new HttpProblem(400, "invalid_argument", `POST /${route}: invalid body: ${issues.join("; ")}`, issuePath(first.path) || undefined);
  }
  return parsed.data;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A commit's answer; a refusal (returned as data so its blob deletion commits) becomes the HTTP error. */
function committed(r: { ok: true; artifactId: string; version: number; duplicate: boolean } | { ok: false; code: string; message: string }) {
  if (!r.ok) throw new HttpProblem(STATUS[r.code as LakituErrorCode] ?? 400, r.code, r.message);
  const { ok: _ok, ...rest } = r;
  return rest;
}

function toResponse(e: unknown): Response {
  if (e instanceof HttpProblem) return problem(e.status, e.code, e.message, e.path);
  if (e instanceof ConvexError && e.data && typeof e.data === "object" && "code" in e.data) {
    const { code, message, path } = e.data as { code: LakituErrorCode; message: string; path?: string };
    return problem(STATUS[code] ?? 400, code, message, path);
  }
  // Argument validation errors from Convex itself (a value outside the function's validator).
  const message = e instanceof Error ? e.message : String(e);
  if (/ArgumentValidationError|Validator error/i.test(message)) return problem(400, "invalid_argument", message.split("\n")[0]);
  console.error(JSON.stringify({ lakitu: "route_error", message: message.slice(0, 500) }));
  return problem(500, "internal", "internal error; see the deployment logs");
}

function route(path: string, run: (ctx: Ctx, request: Request) => Promise<unknown>): Route {
  return {
    path,
    method: "POST",
    handler: async (ctx, request) => {
      try {
        return json(200, { ok: true, ...((await run(ctx, request)) as object) });
      } catch (e) {
        return toResponse(e);
      }
    },
  };
}

/** The routes, relative to the mount prefix (e.g. `/lakitu/events`). */
export function runtimeRoutes({ runtime, gateway }: RuntimeApi, options: RouteOptions = {}): Route[] {
  return [
    route("task", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zTaskBody, "task");
      const task = await ctx.runMutation(gateway.task, { ...auth, ...body });
      // A refusal is data (the mutation must commit the run's end), answered here as an error.
      if (task && typeof task.refused === "string") throw new HttpProblem(409, "template_mismatch", task.refused);
      return { task };
    }),
    route("llm", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zLlmBody, "llm");
      return await ctx.runAction(gateway.llm, { ...auth, ...body });
    }),
    route("ksa", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zKsaBody, "ksa");
      // JSON text across the boundary: KSA arguments may hold keys Convex values cannot.
      const argsJson = JSON.stringify(body.args ?? {});
      return { result: await ctx.runAction(gateway.ksa, { ...auth, ksa: body.ksa, fn: body.fn, argsJson }) };
    }),
    route("events", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zEventsBody, "events");
      const events = body.events.map(({ data, ...e }) => (data === undefined ? e : { ...e, data: JSON.stringify(data) }));
      const r = await ctx.runMutation(runtime.events, { ...auth, events });
      // The quota refusal is returned (so its event is committed) and answered here as 413.
      if (r.quotaExceeded) fail("quota_exceeded", r.quotaExceeded);
      return r;
    }),
    route("heartbeat", async (ctx, req) => {
      const auth = authOf(req);
      // No body is needed; one that is sent must still be UTF-8, like every other route's.
      utf8Text(await readBody(req, JSON_BODY_LIMITS.heartbeat, "heartbeat"), "request body");
      return await ctx.runMutation(runtime.heartbeat, auth);
    }),
    route("complete", async (ctx, req) => {
      const auth = authOf(req);
      const completion = await readJson(req, zCompleteBody, "complete");
      return await ctx.runMutation(runtime.complete, { ...auth, completion });
    }),
    route("inbox", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zInboxBody, "inbox");
      return await ctx.runMutation(runtime.inbox, { ...auth, afterSeq: body.afterSeq });
    }),
    {
      // A resumed run's runtime gets the paused run's files back: raw bytes, not JSON.
      path: "restore",
      method: "POST",
      handler: async (ctx, req) => {
        try {
          const auth = authOf(req);
          const { artifactId } = await readJson(req, zRestoreBody, "restore");
          if (options.ownStorage && runtime.restoreSource) {
            // Streamed from the component's storage: the bytes pass through no function's return value.
            const src: { storageId: string; name: string } = await ctx.runQuery(runtime.restoreSource, { ...auth, artifactId });
            const blob = await ctx.storage.get(src.storageId as never);
            if (!blob) throw new HttpProblem(404, "not_found", `the bytes of ${src.name} are gone from storage`);
            return new Response(blob, { status: 200, headers: { "content-type": "application/octet-stream" } });
          }
          const bytes: ArrayBuffer = await ctx.runAction(runtime.restoreArtifact, { ...auth, artifactId });
          return new Response(bytes, { status: 200, headers: { "content-type": "application/octet-stream" } });
        } catch (e) {
          return toResponse(e);
        }
      },
    },
    route("upload-url", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zUploadUrlBody, "upload-url");
      return await ctx.runMutation(runtime.beginUpload, { ...auth, ...body });
    }),
    route("commit", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zCommitBody, "commit");
      return committed(await ctx.runMutation(runtime.commitArtifact, { ...auth, ...body }));
    }),
    route("artifacts", async (ctx, req) => {
      const auth = authOf(req);
      const url = new URL(req.url);
      // The body is the file's bytes (any bytes); the name and type must be UTF-8.
      checkQueryEncoding(url);
      const name = url.searchParams.get("name");
      if (!name) throw new HttpProblem(400, "invalid_argument", "missing ?name=<path inside the output folder>");
      const type = url.searchParams.get("type") ?? undefined;
      const contentType = req.headers.get("content-type") ?? undefined;
      const sha256 = req.headers.get("x-lakitu-sha256") ?? undefined;
      const limit = options.ownStorage ? MAX_ROUTE_UPLOAD_BYTES : MAX_ARGUMENT_UPLOAD_BYTES;
      const bytes = await readBody(req, limit, "artifacts").catch((e: unknown) => {
        if (e instanceof HttpProblem && e.status === 413) {
          throw new HttpProblem(413, "too_large", `${e.message}: files above ${limit} bytes cannot pass through the component's HTTP route${options.ownStorage ? " (Convex's HTTP body limit)" : " when the app mounts the routes itself (registerRoutes); mount them with app.use(lakitu, { httpPrefix })"}; upload them to the URL from POST /upload-url where the sandbox can reach it`);
        }
        throw e;
      });
      if (options.ownStorage) {
        // The checks first (token, uploads open, size, quota, same bytes already recorded), so a refused
        // upload stores nothing; then the body goes into the component's storage here (no bytes pass
        // as a function argument) and the commit checks what storage holds against the declared hash.
        const hash = sha256 ?? (await sha256Hex(bytes));
        const begun = await ctx.runMutation(runtime.beginUpload, { ...auth, name, size: bytes.byteLength, sha256: hash, type, contentType });
        if (begun.existing) return { ...begun.existing, duplicate: true };
        const storageId = await ctx.storage.store(new Blob([bytes as BlobPart], { type: contentType ?? "application/octet-stream" }));
        let r;
        try {
          r = await ctx.runMutation(runtime.commitArtifact, { ...auth, name, type, contentType, storageId, sha256: hash, size: bytes.byteLength });
        } catch (e) {
          // Thrown (not refused): the commit could not delete the blob, so it is deleted here.
          await ctx.storage.delete(storageId);
          throw e;
        }
        return committed(r);
      }
      return await ctx.runAction(runtime.uploadArtifact, {
        ...auth,
        name,
        type,
        contentType,
        sha256,
        bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      });
    }),
  ];
}
