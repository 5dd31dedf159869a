/**
 * Convex's documented production limits, as figures a test can check against, and the checks that
 * look at one value (document, argument or return value). Cloud figures by default; the self-hosted
 * backend's defaults as an option. Sources: docs.convex.dev/production/state/limits and the
 * open-source backend's knobs (see REFERENCE.md, "Convex production limits").
 */
import { getConvexSize } from "convex/values";

const MiB = 1 << 20;

export type ConvexLimits = {
  /** One document, system fields included. */
  documentBytes: number;
  /** Fields of one object (the document or any object nested in it, an argument or a return value). */
  objectFields: number;
  /** Elements of one array. */
  arrayElements: number;
  /** How many objects and arrays are nested inside the value (`{ a: [[1]] }` is 2). */
  nestingDepth: number;
  /** Per query/mutation transaction, nested calls included. */
  bytesRead: number;
  documentsRead: number;
  /** `db.get` calls and query/index ranges per transaction. */
  indexRanges: number;
  bytesWritten: number;
  documentsWritten: number;
  /** Functions scheduled by one mutation or action, and the total size of their arguments. */
  scheduledFunctions: number;
  scheduledArgsBytes: number;
  /** One function's arguments and its return value. */
  argumentBytes: number;
  returnBytes: number;
};

export const CLOUD_LIMITS: Readonly<ConvexLimits> = Object.freeze({
  documentBytes: 1 * MiB,
  objectFields: 1024,
  arrayElements: 8192,
  nestingDepth: 16,
  bytesRead: 16 * MiB,
  documentsRead: 32_000,
  indexRanges: 4096,
  bytesWritten: 16 * MiB,
  documentsWritten: 16_000,
  scheduledFunctions: 1000,
  scheduledArgsBytes: 16 * MiB,
  argumentBytes: 16 * MiB,
  returnBytes: 16 * MiB,
});

export const SELF_HOSTED_LIMITS: Readonly<ConvexLimits> = Object.freeze({
  ...CLOUD_LIMITS,
  bytesRead: 8 * MiB,
  documentsRead: 16_384,
  bytesWritten: 8 * MiB,
  documentsWritten: 8192,
  scheduledArgsBytes: 8 * MiB,
  argumentBytes: 8 * MiB,
  returnBytes: 8 * MiB,
});

export type LimitsProfile = "cloud" | "selfHosted";
/** A profile name, a profile with some figures changed, or `false` to check nothing. */
export type LimitsOption = LimitsProfile | false | { profile?: LimitsProfile; overrides?: Partial<ConvexLimits> };

export type ResolvedLimits = { profile: LimitsProfile; figures: ConvexLimits };

const PROFILES: Record<LimitsProfile, Readonly<ConvexLimits>> = { cloud: CLOUD_LIMITS, selfHosted: SELF_HOSTED_LIMITS };

export class LimitsConfigError extends Error {
  readonly code = "invalid_limits";
}

/** Checks and resolves a `LimitsOption`; `null` means "check nothing". */
export function resolveLimits(option: LimitsOption | undefined): ResolvedLimits | null {
  if (option === false) return null;
  const spec = option === undefined || typeof option === "string" ? { profile: option ?? "cloud" } : option;
  if (typeof spec !== "object" || spec === null) throw new LimitsConfigError(`limits: expected "cloud", "selfHosted", false or { profile, overrides }, got ${JSON.stringify(option)}`);
  const profile = spec.profile ?? "cloud";
  if (!(profile in PROFILES)) throw new LimitsConfigError(`limits.profile: "${String(profile)}" is not a profile; allowed: "cloud", "selfHosted"`);
  const figures: ConvexLimits = { ...PROFILES[profile] };
  for (const [key, value] of Object.entries(("overrides" in spec ? spec.overrides : undefined) ?? {})) {
    if (!(key in figures)) throw new LimitsConfigError(`limits.overrides.${key}: not a limit; allowed: ${Object.keys(figures).join(", ")}`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new LimitsConfigError(`limits.overrides.${key}: must be a non-negative integer, got ${JSON.stringify(value)}`);
    figures[key as keyof ConvexLimits] = value;
  }
  return { profile, figures };
}

/** `LAKITU_LIMITS` = cloud | selfHosted | off (default cloud). */
export function limitsFromEnv(value: string | undefined): LimitsOption {
  if (value === undefined || value === "" || value === "cloud") return "cloud";
  if (value === "selfHosted" || value === "self-hosted") return "selfHosted";
  if (value === "off" || value === "false" || value === "0") return false;
  throw new LimitsConfigError(`LAKITU_LIMITS: "${value}" is not allowed; use cloud, selfHosted or off`);
}

export type LimitName = keyof ConvexLimits;

export type LimitViolation = {
  /** `module:export`, prefixed by the component path for child components (`workflow/workpool/loop:main`). */
  functionName: string;
  functionType: "query" | "mutation" | "action";
  limit: LimitName;
  measured: number;
  allowed: number;
  profile: LimitsProfile;
  /** Where in the value, or which table, when it helps. */
  detail?: string;
};

const UNITS: Partial<Record<LimitName, string>> = {
  documentBytes: "bytes",
  bytesRead: "bytes",
  bytesWritten: "bytes",
  scheduledArgsBytes: "bytes",
  argumentBytes: "bytes",
  returnBytes: "bytes",
};

export function describeViolation(v: LimitViolation): string {
  const unit = UNITS[v.limit] ? ` ${UNITS[v.limit]}` : "";
  const at = v.detail ? ` (${v.detail})` : "";
  return `${v.functionType} ${v.functionName} exceeded Convex's ${v.limit} limit: measured ${v.measured.toLocaleString("en-US")}${unit}, allowed ${v.allowed.toLocaleString("en-US")}${unit} (${v.profile})${at}`;
}

/** Thrown inside the function that broke a limit, as a deployment would fail it. */
export class LimitExceededError extends Error {
  readonly code = "limit_exceeded";
  constructor(readonly violation: LimitViolation) {
    super(`Convex limit exceeded: ${describeViolation(violation)}`);
    this.name = "LimitExceededError";
  }
}

export type ShapeViolation = { limit: "objectFields" | "arrayElements" | "nestingDepth"; measured: number; path: string };

/**
 * The first object with too many fields, array with too many elements, or nesting past the limit in
 * `value`. Undefined fields (allowed in `db.patch`) are not counted. Iterative, so a hostile depth
 * cannot overflow the stack.
 */
export function shapeViolation(value: unknown, limits: Pick<ConvexLimits, "objectFields" | "arrayElements" | "nestingDepth">): ShapeViolation | null {
  // Paths are built only for a violation (from each entry's parent link): building one per element
  // costs more than the walk itself on the hot path (every write and every function's arguments).
  type Entry = { v: unknown; depth: number; parent: Entry | null; key: string | number };
  const at = (e: Entry) => pathOf(e) || "(root)";
  const stack: Entry[] = [{ v: value, depth: 0, parent: null, key: "" }];
  while (stack.length > 0) {
    const e = stack.pop()!;
    const { v, depth } = e;
    if (Array.isArray(v)) {
      const level = Math.max(depth, 1);
      if (level > limits.nestingDepth) return { limit: "nestingDepth", measured: level, path: at(e) };
      if (v.length > limits.arrayElements) return { limit: "arrayElements", measured: v.length, path: at(e) };
      for (let i = 0; i < v.length; i++) if (isContainer(v[i])) stack.push({ v: v[i], depth: depth + 1, parent: e, key: i });
    } else if (isPlainObject(v)) {
      let fields = 0;
      for (const k in v) if (Object.hasOwn(v, k) && v[k] !== undefined) fields++;
      // The value itself (document, args object, return object) is the root, not a nesting level.
      if (depth > limits.nestingDepth) return { limit: "nestingDepth", measured: depth, path: pathOf(e) };
      if (fields > limits.objectFields) return { limit: "objectFields", measured: fields, path: at(e) };
      for (const k in v) if (Object.hasOwn(v, k) && isContainer(v[k])) stack.push({ v: v[k], depth: depth + 1, parent: e, key: k });
    }
  }
  return null;
}

/** `a.b[2].c` for an entry of shapeViolation's walk ("" for the root). */
function pathOf(e: { parent: unknown; key: string | number }): string {
  const parts: Array<string | number> = [];
  for (let x = e as { parent: unknown; key: string | number } | null; x?.parent; x = x.parent as typeof x) parts.push(x.key);
  let path = "";
  for (let i = parts.length - 1; i >= 0; i--) {
    const k = parts[i];
    path = typeof k === "number" ? `${path}[${k}]` : path ? `${path}.${k}` : k;
  }
  return path;
}

/** Only arrays and plain objects can break a shape limit; other values need no visit. */
function isContainer(v: unknown): boolean {
  return v !== null && typeof v === "object";
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || v instanceof ArrayBuffer) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Convex's own size estimate (`getConvexSize` from convex/values); 0 for values it cannot size. */
export function convexSize(value: unknown): number {
  try {
    return getConvexSize(value as never);
  } catch {
    return 0;
  }
}
