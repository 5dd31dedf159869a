import { ConvexError } from "convex/values";

/** Error codes that cross the component boundary inside a `ConvexError`. */
export type LakituErrorCode =
  | "not_found"
  | "invalid_argument"
  | "conflict"
  | "unauthorized"
  | "stale"
  | "too_large"
  | "provider_failed"
  | "forbidden"
  | "model_failed"
  /** One model turn is already in flight for the run; retry when it returns. */
  | "busy"
  /** The run's runtime already completed (or the run ended): no more artifacts are accepted. */
  | "uploads_closed"
  /** The run stored as many artifacts (or bytes) as its quota allows (configure maxRunArtifacts / maxRunArtifactBytes). */
  | "quota_exceeded"
  /** The app wired Lakitu up wrongly (e.g. no provider, no CONVEX_SITE_URL); the message says how to fix it. */
  | "misconfigured";

export type LakituErrorData = {
  code: LakituErrorCode;
  message: string;
  /** For a bad argument: the field, as a path like `stages[2].deliverables[0].type`. */
  path?: string;
};

/** Throws a `ConvexError` whose data is `{ code, message, path? }`; the message says what and how to fix. */
export function fail(code: LakituErrorCode, message: string, path?: string): never {
  throw new ConvexError<LakituErrorData>(path === undefined ? { code, message } : { code, message, path });
}

export function isLakituError(e: unknown, code?: LakituErrorCode): e is ConvexError<LakituErrorData> {
  if (!(e instanceof ConvexError)) return false;
  const data = e.data as Partial<LakituErrorData> | undefined;
  return typeof data?.code === "string" && (code === undefined || data.code === code);
}

/** `fail("not_found", ...)` when `doc` is null. */
export function must<T>(doc: T | null | undefined, what: string, id: string): T {
  if (doc === null || doc === undefined) fail("not_found", `${what} ${id} does not exist (was it deleted, or is the id from another deployment?)`);
  return doc;
}
