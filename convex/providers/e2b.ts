/**
 * The E2B sandbox provider: the official `e2b` SDK behind Lakitu's provider contract. It needs Node, so
 * it runs in a `"use node"` action the parent app owns (components cannot use Node):
 *
 * ```ts
 * // convex/sandbox.ts
 * "use node";
 * import { internalAction } from "./_generated/server";
 * import { e2bProvider, providerArgs, vProviderResult } from "lakitu/e2b";
 * export const provider = internalAction({ args: providerArgs, returns: vProviderResult, handler: e2bProvider() });
 * ```
 *
 * Keys come from the app's environment (`E2B_API_KEY`) and never enter a sandbox: the sandbox receives
 * only the session environment Lakitu passes (`LAKITU_*`).
 */
import {
  AuthenticationError,
  InvalidArgumentError,
  NotFoundError,
  RateLimitError,
  Sandbox,
  ServiceBusyError,
  TimeoutError,
  type ConnectionOpts,
} from "e2b";
import { limitOf } from "../shared/sandboxLimit.js";
import type { ProviderError, ProviderRequest, ProviderResult } from "../shared/validators.js";

export { providerArgs, vProviderResult } from "../shared/validators.js";

export type E2bProviderOptions = {
  /** Default: `process.env.E2B_API_KEY`. */
  apiKey?: string | undefined;
  /** Template used when Lakitu's config names none. Default: `process.env.LAKITU_E2B_TEMPLATE ?? "lakitu"`. */
  template?: string | undefined;
  /**
   * Command that starts the runtime inside the sandbox (runs in the background). Default:
   * `process.env.LAKITU_RUNTIME_COMMAND`, else `node /opt/lakitu/runtime/main.js` (the template's).
   */
  command?: string | undefined;
  /** Working directory of the runtime. Default `/home/user/workspace`. */
  cwd?: string | undefined;
  /**
   * Outbound network of the sandbox. `"component"` (default): only the component's host (from
   * `LAKITU_URL`) is allowed, everything else denied (E2B's `network.allowOut`/`denyOut`). `"open"`: E2B's
   * default, the whole internet. Agent code has no network either way when the template's runtime
   * can give it a namespace of its own (see the README's security section).
   */
  network?: "component" | "open" | undefined;
  /** Extra connection options (domain, apiUrl/sandboxUrl for a compatible host, requestTimeoutMs). */
  connection?: Omit<ConnectionOpts, "apiKey"> | undefined;
};

export const DEFAULT_RUNTIME_COMMAND = "node /opt/lakitu/runtime/main.js";
/**
 * Where the session token is handed over, relative to the runtime user's home (E2B resolves relative
 * paths there; the runtime too): root's home, which only root (the runtime) can read.
 */
export const TOKEN_FILE = ".lakitu/session-token";
/** The runtime runs as root so that it can start agent code as the template's agent user. */
export const RUNTIME_USER = "root";

/** Maps an SDK error to the contract's error codes. */
export function toProviderError(e: unknown): ProviderError {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof AuthenticationError) return { code: "auth", message: `E2B rejected the API key: ${message}`, retryable: false };
  if (e instanceof RateLimitError) return { code: "rate_limited", message, retryable: true };
  if (e instanceof ServiceBusyError) return { code: "busy", message, retryable: true };
  if (e instanceof NotFoundError) return { code: "not_found", message, retryable: false };
  if (e instanceof InvalidArgumentError) return { code: "invalid", message, retryable: false };
  if (e instanceof TimeoutError) return { code: "unavailable", message, retryable: true };
  if (/\b404\b/.test(message)) return { code: "not_found", message, retryable: false };
  if (/fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket/i.test(message)) return { code: "unavailable", message, retryable: true };
  // Any other 5xx of E2B's API (500, 502, 504: the SDK's message starts with the status) is transient.
  if (/^5\d\d\b/.test(message)) return { code: "unavailable", message, retryable: true };
  return { code: "internal", message, retryable: false };
}

/**
 * E2B's egress rules for a sandbox whose runtime calls `componentUrl` (and sends big files to
 * `storageOrigin`): those hosts allowed, the rest
 * denied (allowed entries take precedence over denied ones in E2B); no URL, no internet. `"open"` adds
 * nothing (E2B's default: the whole internet).
 */
export function networkOptions(
  mode: "component" | "open",
  componentUrl: string | undefined,
  storageOrigin?: string,
): { network?: { allowOut: string[]; denyOut: string[] }; allowInternetAccess?: false } {
  if (mode === "open") return {};
  // Without a component URL there is nothing to allow: no network at all.
  if (!componentUrl || !URL.canParse(componentUrl)) return { allowInternetAccess: false };
  const hosts = [new URL(componentUrl).hostname];
  // Storage upload URLs (another origin on Convex: *.convex.cloud), so files skip the route's 20 MiB.
  if (storageOrigin && URL.canParse(storageOrigin) && !hosts.includes(new URL(storageOrigin).hostname)) hosts.push(new URL(storageOrigin).hostname);
  return { network: { allowOut: hosts, denyOut: ["0.0.0.0/0"] } };
}

/**
 * Why a sandbox is gone, when the API says: the SDK drops the body of a 404, whose message the local
 * sandbox host uses to name a crossed resource limit. E2B's own 404 names none; then undefined.
 */
async function goneReason(sandboxId: string, conn: ConnectionOpts): Promise<string | undefined> {
  const apiUrl = conn.apiUrl ?? `https://api.${conn.domain ?? process.env.E2B_DOMAIN ?? "e2b.app"}`;
  try {
    const res = await fetch(`${apiUrl}/sandboxes/${encodeURIComponent(sandboxId)}`, {
      headers: { "X-API-KEY": conn.apiKey ?? "" },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 404) return undefined;
    const body = (await res.json().catch(() => undefined)) as { message?: unknown } | undefined;
    return typeof body?.message === "string" && limitOf(body.message) ? body.message.slice(0, 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** Returns the handler of the app's provider action. */
export function e2bProvider(options: E2bProviderOptions = {}) {
  return async (_ctx: unknown, { request }: { request: ProviderRequest }): Promise<ProviderResult> => {
    const apiKey = options.apiKey ?? process.env.E2B_API_KEY;
    if (!apiKey) {
      return { ok: false, error: { code: "auth", message: "E2B_API_KEY is not set: add it to the deployment's environment (npx convex env set E2B_API_KEY ...)", retryable: false } };
    }
    const conn: ConnectionOpts = { ...options.connection, apiKey };
    try {
      return await handle(request, conn, options);
    } catch (e) {
      return { ok: false, error: toProviderError(e) };
    }
  };
}

async function handle(req: ProviderRequest, conn: ConnectionOpts, options: E2bProviderOptions): Promise<ProviderResult> {
  switch (req.op) {
    case "create": {
      const template = req.template ?? options.template ?? process.env.LAKITU_E2B_TEMPLATE ?? "lakitu";
      const sandbox = await Sandbox.create(template, {
        ...conn,
        metadata: req.metadata,
        timeoutMs: req.timeoutMs,
        ...networkOptions(options.network ?? "component", req.envs.LAKITU_URL, req.envs.LAKITU_STORAGE_ORIGIN),
      });
      const cwd = options.cwd ?? "/home/user/workspace";
      try {
        // The session's secrets go into the process environment, never the command line.
        // `timeoutMs: 0`: a started command's timeout is its lifetime — envd kills it when the call's
        // deadline passes, and the SDK's default is 60 s, also for background commands. The runtime must
        // run until the session ends, so no deadline; then this action drops the output stream (the
        // command keeps running) instead of holding it open.
        // The token goes in a file the runtime reads and deletes on start, not in its environment,
        // where the agent's code could read it back from /proc/<pid>/environ for the whole run.
        const { LAKITU_TOKEN: token, ...envs } = req.envs;
        if (token) {
          await sandbox.files.write(TOKEN_FILE, token, { user: RUNTIME_USER });
          envs.LAKITU_TOKEN_FILE = TOKEN_FILE;
        }
        const handle = await sandbox.commands.run(options.command || process.env.LAKITU_RUNTIME_COMMAND || DEFAULT_RUNTIME_COMMAND, {
          background: true,
          envs,
          cwd,
          user: RUNTIME_USER,
          timeoutMs: 0,
        });
        await handle.disconnect();
      } catch (e) {
        await Sandbox.kill(sandbox.sandboxId, conn).catch(() => false);
        throw e;
      }
      return { ok: true, op: "create", sandboxId: sandbox.sandboxId };
    }
    case "kill":
      return { ok: true, op: "kill", killed: await Sandbox.kill(req.sandboxId, conn) };
    case "status": {
      try {
        const info = await Sandbox.getInfo(req.sandboxId, conn);
        if (info.state !== "running") return { ok: true, op: "status", state: "gone" };
        // A running sandbox whose runtime process died (OOM, a crash, a kill) is of no use to the run:
        // report it gone so the watchdog ends the run now rather than calling it a silent runtime.
        const sandbox = await Sandbox.connect(req.sandboxId, conn);
        const processes = await sandbox.commands.list();
        return { ok: true, op: "status", state: processes.length > 0 ? "running" : "gone" };
      } catch (e) {
        if (e instanceof NotFoundError) {
          const reason = await goneReason(req.sandboxId, conn);
          return { ok: true, op: "status", state: "gone", ...(reason ? { reason } : {}) };
        }
        throw e;
      }
    }
    case "extend":
      await Sandbox.setTimeout(req.sandboxId, req.timeoutMs, conn);
      return { ok: true, op: "extend" };
    case "list": {
      const pager = Sandbox.list({ ...conn, query: { metadata: req.metadata, state: ["running", "paused"] }, limit: 100 });
      const sandboxes: Array<{ sandboxId: string; metadata: Record<string, string> }> = [];
      while (pager.hasNext && sandboxes.length < 1000) {
        for (const s of await pager.nextItems()) sandboxes.push({ sandboxId: s.sandboxId, metadata: s.metadata ?? {} });
      }
      return { ok: true, op: "list", sandboxes };
    }
  }
}
