/**
 * The Convex deployment the CLI talks to, and how it calls the component's functions on it:
 *
 * - `CONVEX_URL` (or `CONVEX_SELF_HOSTED_URL`) with an admin key (`CONVEX_ADMIN_KEY` /
 *   `CONVEX_SELF_HOSTED_ADMIN_KEY`): direct HTTP to `/api/function` with `componentPath: "lakitu"`,
 *   the call `npx convex run --component` makes.
 * - `CONVEX_DEPLOYMENT` (what `npx convex dev` writes to .env.local) or `CONVEX_DEPLOY_KEY`:
 *   `npx convex run --component lakitu <fn> <args>`, which knows how to authenticate.
 *
 * Variables come from the process environment, then .env.local, then .env (see project/dotenv.ts).
 */
import { spawn } from "node:child_process";
import { CliError } from "../errors.js";

export const COMPONENT = "lakitu";

export type Deployment =
  | { kind: "http"; url: string; adminKey: string; label: string }
  | { kind: "convex-cli"; label: string; root: string };

export type Lookup = { deployment?: Deployment; why?: string };

export function findDeployment(env: Record<string, string | undefined>, root: string): Lookup {
  const url = env.CONVEX_SELF_HOSTED_URL || env.CONVEX_URL;
  const adminKey = env.CONVEX_SELF_HOSTED_ADMIN_KEY || env.CONVEX_ADMIN_KEY;
  if (url && adminKey) return { deployment: { kind: "http", url: url.replace(/\/+$/, ""), adminKey, label: url } };
  if (env.CONVEX_DEPLOYMENT || env.CONVEX_DEPLOY_KEY) {
    return { deployment: { kind: "convex-cli", label: env.CONVEX_DEPLOYMENT || "the deployment of CONVEX_DEPLOY_KEY", root } };
  }
  if (url) return { why: `${env.CONVEX_SELF_HOSTED_URL ? "CONVEX_SELF_HOSTED_URL" : "CONVEX_URL"} is set but no admin key (CONVEX_ADMIN_KEY) to call the component with` };
  return { why: "no Convex deployment is configured (CONVEX_DEPLOYMENT, or CONVEX_URL with CONVEX_ADMIN_KEY)" };
}

export const DEPLOYMENT_HINT = "run `npx convex dev` once in this app (it writes CONVEX_DEPLOYMENT to .env.local), or set CONVEX_URL and CONVEX_ADMIN_KEY";

/** The command a person would type to make the same call. */
export function convexRunCommand(fn: string, args: Record<string, unknown>): string {
  return `npx convex run --component ${COMPONENT} ${fn} '${JSON.stringify(args).replace(/'/g, "'\\''")}'`;
}

/** Calls a public function of the component (e.g. "config:configure") and returns its value. */
export async function callComponent(d: Deployment, fn: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
  return d.kind === "http" ? await callHttp(d, fn, args, signal) : await callConvexCli(d, fn, args);
}

async function callHttp(d: Extract<Deployment, { kind: "http" }>, fn: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${d.url}/api/function`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Convex ${d.adminKey}`, "convex-client": "lakitu-cli" },
      body: JSON.stringify({ componentPath: COMPONENT, path: fn, format: "convex_encoded_json", args }),
      signal,
    });
  } catch (e) {
    throw new CliError(`cannot reach the deployment at ${d.url}: ${(e as Error).message}`, "check CONVEX_URL and that the deployment is running", "deployment");
  }
  const text = await res.text();
  let body: { status?: string; value?: unknown; errorMessage?: string } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body?.status === "success") return body.value;
  const message = body?.errorMessage ?? `${res.status} ${text.slice(0, 200)}`;
  throw new CliError(`${fn} failed on ${d.label}: ${message}`, res.status === 401 || res.status === 403 ? "check the admin key" : undefined, "deployment");
}

function callConvexCli(d: Extract<Deployment, { kind: "convex-cli" }>, fn: string, args: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["convex", "run", "--component", COMPONENT, fn, JSON.stringify(args)], { cwd: d.root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", (e) => reject(new CliError(`cannot run npx convex: ${e.message}`, "is convex installed in this app?", "deployment")));
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new CliError(`npx convex run ${fn} failed (exit ${code}): ${stderr.trim().split("\n").slice(-3).join(" ")}`, undefined, "deployment"));
        return;
      }
      const text = stdout.trim();
      try {
        resolve(text === "" ? null : JSON.parse(text));
      } catch {
        resolve(text);
      }
    });
  });
}
