/**
 * Per-sandbox resource limits of the local host: what they are, their defaults, how they are checked
 * for sanity, and the message a sandbox killed for crossing one leaves behind.
 *
 * Defaults are sized for an agent workspace: the Lakitu runtime plus an executor and a tool such as
 * `tsc` or `npm install` fit in 1 GiB of memory and 1 GiB of disk; 256 processes is far above what a
 * build spawns and far below what starves the host; 64 MiB of /dev/shm is Docker's default; 10 min of
 * CPU time is generous for an agent (whose time goes mostly to waiting for the model) and stops a
 * runaway loop long before its sandbox timeout. `Infinity` turns a limit off.
 *
 * Every kill message contains the stable marker `killed by the host: <limit> limit` (see
 * `limitKillMessage`), which the E2B provider maps to the run's failure code.
 */

export type LimitName = "memory" | "processes" | "disk" | "shm" | "cpu";
export const LIMIT_NAMES: readonly LimitName[] = ["memory", "processes", "disk", "shm", "cpu"];

export type ResourceLimits = {
  /** Resident memory of all the sandbox's processes together, bytes. Default 1 GiB. */
  memoryBytes: number;
  /** Processes of the sandbox at once (RLIMIT_NPROC caps forks; reaching it kills). Default 256. */
  maxProcesses: number;
  /** Bytes allocated under home, workspace and tmp together. Default 1 GiB. */
  diskBytes: number;
  /** Files and directories under home, workspace and tmp together. Default 200 000. */
  diskEntries: number;
  /** /dev/shm of each command (a size-capped tmpfs), bytes; the sandbox's total is checked. Default 64 MiB. */
  shmBytes: number;
  /** CPU time (user + system) of all the sandbox's processes, dead ones included, ms. Default 10 min. */
  cpuMs: number;
  /** How often memory, processes, /dev/shm and CPU are sampled, ms. Default 250. */
  pollIntervalMs: number;
  /** Shortest pause between two disk walks, ms (longer when a walk is slow). Default 1000. */
  diskPollIntervalMs: number;
};

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const DEFAULT_RESOURCE_LIMITS: Readonly<ResourceLimits> = {
  memoryBytes: 1 * GiB,
  maxProcesses: 256,
  diskBytes: 1 * GiB,
  diskEntries: 200_000,
  shmBytes: 64 * MiB,
  cpuMs: 10 * 60_000,
  pollIntervalMs: 250,
  diskPollIntervalMs: 1_000,
};

/** Bad limit configuration: names the field, what was wrong and what is allowed. */
export class LimitConfigError extends Error {
  readonly code = "invalid_sandbox_limit";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "LimitConfigError";
  }
}

/** Smallest values that still let a sandbox start a command. */
const MINIMUM: Record<keyof ResourceLimits, number> = {
  memoryBytes: 8 * MiB,
  maxProcesses: 4,
  diskBytes: 64 * KiB,
  diskEntries: 16,
  shmBytes: 4 * KiB,
  cpuMs: 100,
  pollIntervalMs: 10,
  diskPollIntervalMs: 50,
};
const MAY_BE_OFF: ReadonlySet<keyof ResourceLimits> = new Set(["memoryBytes", "diskBytes", "diskEntries", "shmBytes", "cpuMs"]);

/** The defaults overridden by `given`; throws `LimitConfigError` for a value that is not allowed. */
export function resolveLimits(given: Partial<ResourceLimits> = {}): ResourceLimits {
  const out = { ...DEFAULT_RESOURCE_LIMITS };
  for (const [key, value] of Object.entries(given) as Array<[keyof ResourceLimits, number | undefined]>) {
    if (!(key in MINIMUM)) throw new LimitConfigError(key, `unknown limit; known: ${Object.keys(MINIMUM).join(", ")}`);
    if (value === undefined) continue;
    const off = MAY_BE_OFF.has(key);
    if (typeof value !== "number" || Number.isNaN(value) || (value === Infinity && !off) || (value !== Infinity && !Number.isInteger(value))) {
      throw new LimitConfigError(key, `must be an integer${off ? " or Infinity (off)" : ""}, got ${typeof value === "number" ? String(value) : JSON.stringify(value)}`);
    }
    if (value < MINIMUM[key]) throw new LimitConfigError(key, `${value} is below the minimum of ${MINIMUM[key]}`);
    out[key] = value;
  }
  return out;
}

/** Size of the /dev/shm tmpfs for a limit: a little above it, so a sandbox can cross it (and be killed). */
export function shmTmpfsBytes(limitBytes: number): number | undefined {
  if (limitBytes === Infinity) return undefined;
  const slack = Math.max(4 * KiB, Math.ceil(limitBytes / 16));
  return Math.ceil((limitBytes + slack) / (4 * KiB)) * 4 * KiB;
}

/** `1 GiB`, `64 MiB`, `1.5 KiB`, `12 B`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ["GiB", GiB],
    ["MiB", MiB],
    ["KiB", KiB],
  ] as const) {
    if (n >= size) return `${Number((n / size).toFixed(2))} ${unit}`;
  }
  return `${n} B`;
}

/** `10 min`, `1.5 s`, `250 ms`. */
export function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1_000) return `${Number((ms / 1_000).toFixed(2))} s`;
  return `${ms} ms`;
}

/** A limit a sandbox crossed: which, the configured value and what it used, both as text. */
export type LimitViolation = { limit: LimitName; allowed: string; used: string; verb: "exceeded" | "reached" };

/** Stable marker of a limit kill in messages: `killed by the host: <limit> limit`. */
export const LIMIT_KILL_MARKER = /killed by the host: (memory|processes|disk|shm|cpu) limit/;

/**
 * `sandbox <id> was killed by the host: <limit> limit <allowed> <exceeded|reached> (used <used>)`.
 * The marker `killed by the host: <limit> limit` is stable; the rest is for people.
 */
export function limitKillMessage(sandboxId: string, v: LimitViolation): string {
  return `sandbox ${sandboxId} was killed by the host: ${v.limit} limit ${v.allowed} ${v.verb} (used ${v.used})`;
}

/** Which limit a kill message names, or undefined when it is not a limit kill. */
export function limitOfMessage(message: string): LimitName | undefined {
  return LIMIT_KILL_MARKER.exec(message)?.[1] as LimitName | undefined;
}

/** Parses a byte size as typed on a command line: `1073741824`, `512MiB`, `1GiB`, `64M`, `off`. */
export function parseByteSize(field: string, text: string): number {
  const t = text.trim();
  if (/^(off|none|unlimited)$/i.test(t)) return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(t);
  if (!m) throw new LimitConfigError(field, `"${text}" is not a size; use bytes or a unit (KiB, MiB, GiB), e.g. 512MiB, or off`);
  const unit = (m[2] ?? "b").toLowerCase()[0]!;
  const factor = unit === "g" ? GiB : unit === "m" ? MiB : unit === "k" ? KiB : 1;
  return Math.round(Number(m[1]) * factor);
}

/** Parses a duration as typed on a command line: `600000` (ms), `90s`, `10m`, `1h`, `off`. */
export function parseDurationMs(field: string, text: string): number {
  const t = text.trim();
  if (/^(off|none|unlimited)$/i.test(t)) return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i.exec(t);
  if (!m) throw new LimitConfigError(field, `"${text}" is not a duration; use ms or a unit (s, min, h), e.g. 10min, or off`);
  const unit = (m[2] ?? "ms").toLowerCase();
  const factor = unit === "h" ? 3_600_000 : unit === "m" || unit === "min" ? 60_000 : unit === "s" ? 1_000 : 1;
  return Math.round(Number(m[1]) * factor);
}
