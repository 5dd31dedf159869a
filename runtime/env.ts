/**
 * The runtime's configuration, read once from the process environment the provider set.
 * A problem is reported per variable, naming it and what is expected, never echoing the token.
 */
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const schema = z.object({
  LAKITU_URL: z
    .string()
    .trim()
    .min(1, "is empty")
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), "must be an http(s) URL, e.g. https://example.convex.site/lakitu"),
  LAKITU_TOKEN: z
    .string()
    .min(1, "is empty")
    .min(16, "is too short to be a session token")
    .max(4096, "is too long to be a session token")
    .regex(/^\S+$/, "must not contain whitespace"),
  LAKITU_GENERATION: int(0, Number.MAX_SAFE_INTEGER),
  LAKITU_RUN_ID: z.string().trim().min(1, "is empty"),
  LAKITU_SESSION_ID: z.string().trim().min(1, "is empty"),
  LAKITU_WORKSPACE: z.string().trim().min(1, "is empty").optional(),
  LAKITU_HEARTBEAT_MS: int(100, 3_600_000).default(15_000),
  LAKITU_STEP_TIMEOUT_MS: int(100, 24 * 3_600_000).default(120_000),
  LAKITU_MAX_OUTPUT_BYTES: int(256, 16 * 1024 * 1024).default(16_384),
  LAKITU_AGENT_USER: z
    .string()
    .trim()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a user name (lowercase letters, digits, _ and -), e.g. lakitu-agent")
    .optional(),
  LAKITU_COMPONENT_SOCKET: z.string().trim().startsWith("/", "must be an absolute path, e.g. /run/lakitu/component.sock").optional(),
  LAKITU_STORAGE_ORIGIN: z
    .string()
    .trim()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol) && new URL(s).origin === s.replace(/\/+$/, ""), "must be an http(s) origin, e.g. https://example.convex.cloud")
    .optional(),
});

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
  const picked: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = source[key];
    // An empty optional variable means "use the default"; an empty required one is reported.
    if (value === undefined || (value === "" && OPTIONAL.has(key))) continue;
    picked[key] = value;
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? "environment");
      if (seen.has(key)) continue;
      seen.add(key);
      const what = HINTS[key] ? `${key} (${HINTS[key]})` : key;
      // Messages are ours or zod's generic ones; zod never echoes the value, so the token cannot leak here.
      const message = picked[key] === undefined ? "is not set" : issue.message;
      problems.push(`${what}: ${message}`);
    }
    return { ok: false, problems };
  }
  const e = parsed.data;
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

const OPTIONAL = new Set([
  "LAKITU_WORKSPACE",
  "LAKITU_HEARTBEAT_MS",
  "LAKITU_STEP_TIMEOUT_MS",
  "LAKITU_MAX_OUTPUT_BYTES",
  "LAKITU_AGENT_USER",
  "LAKITU_COMPONENT_SOCKET",
  "LAKITU_STORAGE_ORIGIN",
]);
