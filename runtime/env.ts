/**
 * The runtime's configuration, read once from the process environment the provider set.
 * A problem is reported per variable, naming it and what is expected, never echoing the token.
 */
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";

/** A variable's check: the parsed value, or what is wrong with it (never echoing the value). */
type Check<T> = (raw: string) => { ok: true; value: T } | { ok: false; problem: string };
const bad = (problem: string) => ({ ok: false as const, problem });
const good = <T>(value: T) => ({ ok: true as const, value });
const isHttpUrl = (s: string) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol);

// Hand-written rather than zod: this runs before the runtime's first request, and zod's load time
// would be most of that.
const int =
  (min: number, max: number): Check<number> =>
  (raw) => {
    const s = raw.trim();
    if (!/^\d+$/.test(s)) return bad("must be a whole number");
    const n = Number(s);
    if (n < min) return bad(`must be at least ${min}`);
    if (n > max) return bad(`must be at most ${max}`);
    return good(n);
  };
const text =
  (...more: Array<[test: (s: string) => boolean, problem: string]>): Check<string> =>
  (raw) => {
    const s = raw.trim();
    if (s.length === 0) return bad("is empty");
    for (const [test, problem] of more) if (!test(s)) return bad(problem);
    return good(s);
  };
const token: Check<string> = (raw) => {
  if (raw.length === 0) return bad("is empty");
  if (raw.length < 16) return bad("is too short to be a session token");
  if (raw.length > 4096) return bad("is too long to be a session token");
  if (!/^\S+$/.test(raw)) return bad("must not contain whitespace");
  return good(raw);
};

/** Every variable, its check, and its default when it is optional (`null`: optional without one). */
const schema = {
  LAKITU_URL: { check: text([isHttpUrl, "must be an http(s) URL, e.g. https://example.convex.site/lakitu"]) },
  LAKITU_TOKEN: { check: token },
  LAKITU_GENERATION: { check: int(0, Number.MAX_SAFE_INTEGER) },
  LAKITU_RUN_ID: { check: text() },
  LAKITU_SESSION_ID: { check: text() },
  LAKITU_WORKSPACE: { check: text(), optional: null },
  LAKITU_HEARTBEAT_MS: { check: int(100, 3_600_000), optional: 15_000 },
  LAKITU_STEP_TIMEOUT_MS: { check: int(100, 24 * 3_600_000), optional: 120_000 },
  LAKITU_MAX_OUTPUT_BYTES: { check: int(256, 16 * 1024 * 1024), optional: 16_384 },
  LAKITU_AGENT_USER: { check: text([(s) => /^[a-z_][a-z0-9_-]{0,31}$/.test(s), "must be a user name (lowercase letters, digits, _ and -), e.g. lakitu-agent"]), optional: null },
  LAKITU_COMPONENT_SOCKET: { check: text([(s) => s.startsWith("/"), "must be an absolute path, e.g. /run/lakitu/component.sock"]), optional: null },
  LAKITU_STORAGE_ORIGIN: {
    check: text([(s) => isHttpUrl(s) && new URL(s).origin === s.replace(/\/+$/, ""), "must be an http(s) origin, e.g. https://example.convex.cloud"]),
    optional: null,
  },
} satisfies Record<string, { check: Check<unknown>; optional?: unknown }>;

const HINTS: Record<string, string> = {
  LAKITU_URL: "the component's HTTP base URL",
  LAKITU_TOKEN: "the session token",
  LAKITU_GENERATION: "the run generation, an integer",
  LAKITU_RUN_ID: "the run id",
  LAKITU_SESSION_ID: "the session id",
  LAKITU_WORKSPACE: "the workspace directory",
  LAKITU_HEARTBEAT_MS: "heartbeat interval in milliseconds",
  LAKITU_STEP_TIMEOUT_MS: "per-step execution timeout in milliseconds",
  LAKITU_MAX_OUTPUT_BYTES: "cap on captured output per step, in bytes",
  LAKITU_AGENT_USER: "the user agent code runs as",
  LAKITU_COMPONENT_SOCKET: "unix socket the sandbox host bridges to the component",
  LAKITU_STORAGE_ORIGIN: "origin of the deployment's storage upload URLs, when the sandbox may reach it",
};

export type RuntimeEnv = {
  url: string;
  token: string;
  generation: number;
  runId: string;
  sessionId: string;
  /** Absolute path. */
  workspace: string;
  heartbeatMs: number;
  stepTimeoutMs: number;
  maxOutputBytes: number;
  /** The sandbox's agent user; agent code must run as it (the run fails if it cannot). */
  agentUser?: string;
  /** When set, every call to the component goes through this unix socket (a sandbox without network). */
  componentSocket?: string;
  /** Origin of storage upload URLs the sandbox may reach (never with a component socket: that reaches the component only). */
  storageOrigin?: string;
};

export type EnvResult = { ok: true; env: RuntimeEnv } | { ok: false; problems: string[] };

/**
 * The token may come in a file instead of the environment (`LAKITU_TOKEN_FILE`, relative to the
 * runtime's home — root's, which only root can read — or else to the workspace): the provider writes it
 * before starting the runtime, which reads it and deletes it at once, so the token is in no process
 * environment (`/proc/<pid>/environ`) and no file the agent's code could read.
 */
export function tokenFromFile(source: Record<string, string | undefined>, cwd = process.cwd()): { env: Record<string, string | undefined>; problem?: string } {
  const file = source.LAKITU_TOKEN_FILE;
  if (!file || source.LAKITU_TOKEN) return { env: source };
  const path = resolve(cwd, source.HOME || source.LAKITU_WORKSPACE || ".", file);
  try {
    const token = readFileSync(path, "utf8").trim();
    rmSync(path, { force: true });
    return { env: { ...source, LAKITU_TOKEN: token } };
  } catch (e) {
    return { env: source, problem: `LAKITU_TOKEN_FILE (file holding the session token): cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

/**
 * Parses the runtime's environment. Problems are one line each, e.g.
 * `LAKITU_GENERATION (the run generation, an integer): must be a whole number`.
 * Defaults: workspace = `cwd`, heartbeat 15000 ms, step timeout 120000 ms, output cap 16384 bytes.
 */
export function parseEnv(source: Record<string, string | undefined>, cwd = process.cwd()): EnvResult {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(schema) as Array<[string, { check: Check<unknown>; optional?: unknown }]>) {
    const value = source[key];
    // An empty optional variable means "use the default"; an empty required one is reported.
    const unset = value === undefined || (value === "" && "optional" in spec);
    const what = HINTS[key] ? `${key} (${HINTS[key]})` : key;
    if (unset) {
      if (!("optional" in spec)) problems.push(`${what}: is not set`);
      else if (spec.optional !== null) values[key] = spec.optional;
      continue;
    }
    const r = spec.check(value);
    if (r.ok) values[key] = r.value;
    else problems.push(`${what}: ${r.problem}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  // Each value passed its check above: numbers for the integer variables, strings for the others.
  const e = values as Record<"LAKITU_URL" | "LAKITU_TOKEN" | "LAKITU_RUN_ID" | "LAKITU_SESSION_ID", string> &
    Record<"LAKITU_GENERATION" | "LAKITU_HEARTBEAT_MS" | "LAKITU_STEP_TIMEOUT_MS" | "LAKITU_MAX_OUTPUT_BYTES", number> &
    Partial<Record<"LAKITU_WORKSPACE" | "LAKITU_AGENT_USER" | "LAKITU_COMPONENT_SOCKET" | "LAKITU_STORAGE_ORIGIN", string>>;
  return {
    ok: true,
    env: {
      url: e.LAKITU_URL.replace(/\/+$/, ""),
      token: e.LAKITU_TOKEN,
      generation: e.LAKITU_GENERATION,
      runId: e.LAKITU_RUN_ID,
      sessionId: e.LAKITU_SESSION_ID,
      workspace: resolve(cwd, e.LAKITU_WORKSPACE ?? "."),
      heartbeatMs: e.LAKITU_HEARTBEAT_MS,
      stepTimeoutMs: e.LAKITU_STEP_TIMEOUT_MS,
      maxOutputBytes: e.LAKITU_MAX_OUTPUT_BYTES,
      ...(e.LAKITU_AGENT_USER ? { agentUser: e.LAKITU_AGENT_USER } : {}),
      ...(e.LAKITU_COMPONENT_SOCKET ? { componentSocket: e.LAKITU_COMPONENT_SOCKET } : {}),
      ...(e.LAKITU_STORAGE_ORIGIN && !e.LAKITU_COMPONENT_SOCKET ? { storageOrigin: new URL(e.LAKITU_STORAGE_ORIGIN).origin } : {}),
    },
  };
}

