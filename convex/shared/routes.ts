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
import type { LakituErrorCode } from "./errors.js";

type Mut = FunctionReference<"mutation", any, any, any>;
type Act = FunctionReference<"action", any, any, any>;
/** The runtime-facing functions of the component, as the mounting side sees them. */
export type RuntimeApi = {
  runtime: { events: Mut; heartbeat: Mut; complete: Mut; inbox: Mut; uploadArtifact: Act; restoreArtifact: Act };
  gateway: { task: Mut; llm: Act; ksa: Act };
};
type Ctx = Pick<GenericActionCtx<GenericDataModel>, "runMutation" | "runAction">;
export type RouteHandler = (ctx: Ctx, request: Request) => Promise<Response>;
export type Route = { path: string; method: "POST"; handler: RouteHandler };

/** Request bodies above this are refused before parsing (artifacts have their own limit). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;
const MAX_UPLOAD_BODY_BYTES = 16 * 1024 * 1024;

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
export const zKsaBody = z.object({ ksa: z.string().min(1).max(64), fn: z.string().min(1).max(64), args: z.unknown().optional() }).strict();

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
function problem(status: number, code: string, message: string): Response {
  return json(status, { ok: false, code, message });
}

class HttpProblem extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
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

async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) throw new HttpProblem(413, "too_large", `request body is ${declared} bytes; the limit is ${max}`);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > max) throw new HttpProblem(413, "too_large", `request body is ${bytes.byteLength} bytes; the limit is ${max}`);
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

async function readJson<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  const bytes = await readBody(request, MAX_JSON_BODY_BYTES);
  const text = utf8Text(bytes, "request body");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpProblem(400, "invalid_argument", `body is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    throw new HttpProblem(400, "invalid_argument", `invalid body: ${issues.join("; ")}`);
  }
  return parsed.data;
}

function toResponse(e: unknown): Response {
  if (e instanceof HttpProblem) return problem(e.status, e.code, e.message);
  if (e instanceof ConvexError && e.data && typeof e.data === "object" && "code" in e.data) {
    const { code, message } = e.data as { code: LakituErrorCode; message: string };
    return problem(STATUS[code] ?? 400, code, message);
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
export function runtimeRoutes({ runtime, gateway }: RuntimeApi): Route[] {
  return [
    route("task", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zTaskBody);
      const task = await ctx.runMutation(gateway.task, { ...auth, ...body });
      // A refusal is data (the mutation must commit the run's end), answered here as an error.
      if (task && typeof task.refused === "string") throw new HttpProblem(409, "template_mismatch", task.refused);
      return { task };
    }),
    route("llm", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zLlmBody);
      return await ctx.runAction(gateway.llm, { ...auth, ...body });
    }),
    route("ksa", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zKsaBody);
      // JSON text across the boundary: KSA arguments may hold keys Convex values cannot.
      const argsJson = JSON.stringify(body.args ?? {});
      return { result: await ctx.runAction(gateway.ksa, { ...auth, ksa: body.ksa, fn: body.fn, argsJson }) };
    }),
    route("events", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zEventsBody);
      const events = body.events.map(({ data, ...e }) => (data === undefined ? e : { ...e, data: JSON.stringify(data) }));
      return await ctx.runMutation(runtime.events, { ...auth, events });
    }),
    route("heartbeat", async (ctx, req) => {
      const auth = authOf(req);
      // No body is needed; one that is sent must still be UTF-8, like every other route's.
      utf8Text(await readBody(req, MAX_JSON_BODY_BYTES), "request body");
      return await ctx.runMutation(runtime.heartbeat, auth);
    }),
    route("complete", async (ctx, req) => {
      const auth = authOf(req);
      const completion = await readJson(req, zCompleteBody);
      return await ctx.runMutation(runtime.complete, { ...auth, completion });
    }),
    route("inbox", async (ctx, req) => {
      const auth = authOf(req);
      const body = await readJson(req, zInboxBody);
      return await ctx.runMutation(runtime.inbox, { ...auth, afterSeq: body.afterSeq });
    }),
    {
      // A resumed run's runtime gets the paused run's files back: raw bytes, not JSON.
      path: "restore",
      method: "POST",
      handler: async (ctx, req) => {
        try {
          const auth = authOf(req);
          const { artifactId } = await readJson(req, zRestoreBody);
          const bytes: ArrayBuffer = await ctx.runAction(runtime.restoreArtifact, { ...auth, artifactId });
          return new Response(bytes, { status: 200, headers: { "content-type": "application/octet-stream" } });
        } catch (e) {
          return toResponse(e);
        }
      },
    },
    route("artifacts", async (ctx, req) => {
      const auth = authOf(req);
      const url = new URL(req.url);
      // The body is the file's bytes (any bytes); the name and type must be UTF-8.
      checkQueryEncoding(url);
      const name = url.searchParams.get("name");
      if (!name) throw new HttpProblem(400, "invalid_argument", "missing ?name=<path inside the output folder>");
      const bytes = await readBody(req, MAX_UPLOAD_BODY_BYTES);
      return await ctx.runAction(runtime.uploadArtifact, {
        ...auth,
        name,
        type: url.searchParams.get("type") ?? undefined,
        contentType: req.headers.get("content-type") ?? undefined,
        sha256: req.headers.get("x-lakitu-sha256") ?? undefined,
        bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      });
    }),
  ];
}
