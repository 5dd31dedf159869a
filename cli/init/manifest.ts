/**
 * `.lakitu/init.json`: the sha256 of every file `lakitu init` wrote whole. A file whose content no
 * longer matches was changed by the user, and init does not overwrite it without `--force`.
 * Patched files (convex.config.ts, .env.example) are not recorded: their patch is
 * idempotent and the user edits them freely.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CliError } from "../errors.js";
import { readJsonFile } from "../project/project.js";

export const MANIFEST_PATH = ".lakitu/init.json";

export type Manifest = { version: 1; functionsDir: string; files: Record<string, string> };

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function readManifest(root: string): Manifest | undefined {
  const raw = readJsonFile(join(root, MANIFEST_PATH), MANIFEST_PATH) as Partial<Manifest> | undefined;
  if (raw === undefined) return undefined;
  if (raw?.version !== 1 || typeof raw.files !== "object" || raw.files === null) {
    throw new CliError(`${MANIFEST_PATH}: not a manifest this version of lakitu understands`, `move it away and run lakitu init again`, "bad_config");
  }
  return { version: 1, functionsDir: String(raw.functionsDir ?? ""), files: raw.files };
}

/** Stable text (sorted keys), so an unchanged manifest is byte-identical. */
export function manifestText(m: Manifest): string {
  const files = Object.fromEntries(Object.entries(m.files).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ version: 1, functionsDir: m.functionsDir, files }, null, 2)}\n`;
}
