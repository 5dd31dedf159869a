/**
 * Reads `.env.local` then `.env` of the app (what `npx convex dev` writes CONVEX_DEPLOYMENT to), so
 * commands find the deployment and keys the way the Convex CLI does. The process environment wins.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    out[m[1]] = value;
  }
  return out;
}

/** The environment a command sees: `.env`, overridden by `.env.local`, overridden by the process. */
export function appEnv(root: string, processEnv: Record<string, string | undefined>): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  for (const file of [".env", ".env.local"]) {
    const path = join(root, file);
    if (existsSync(path)) Object.assign(merged, parseDotenv(readFileSync(path, "utf8")));
  }
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined && v !== "") merged[k] = v;
  return merged;
}
