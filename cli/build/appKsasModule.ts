/**
 * The module that tells the app's Lakitu client which KSAs are the app's own: `lakitu build` writes
 * `<functions folder>/lakitu_ksas.ts` with the names of the KSAs in lakitu/ksa/, the scaffolded
 * `convex/lakitu.ts` passes them to `new Lakitu(..., { ksas })`, and the component then accepts them
 * in a stage's `allowedKsas` (names it does not know are refused). `lakitu init` writes a first one.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { functionsFolder } from "../project/project.js";

export const APP_KSAS_MODULE = "lakitu_ksas";

export function appKsasModule(names: readonly string[]): string {
  return `// Written by \`npx lakitu build\` from lakitu/ksa/: the app's own KSAs, which stages may list in
// \`allowedKsas\` besides the built-ins. Do not edit: run \`npx lakitu build\` after changing lakitu/ksa/.
export const LAKITU_APP_KSAS: readonly string[] = ${JSON.stringify([...names])};
`;
}

/**
 * Writes the module into the app's functions folder when that folder exists (and only when its
 * content changes, so \`npx convex dev\` does not push for nothing). Returns its path relative to the
 * root, or undefined when the app has no functions folder yet.
 */
export function writeAppKsasModule(root: string, names: readonly string[]): { path: string; changed: boolean } | undefined {
  const rel = `${functionsFolder(root, undefined)}/${APP_KSAS_MODULE}.ts`;
  const dir = join(root, functionsFolder(root, undefined));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const path = join(root, rel);
  const content = appKsasModule(names);
  if (existsSync(path) && readFileSync(path, "utf8") === content) return { path: rel, changed: false };
  writeFileSync(path, content);
  return { path: rel, changed: true };
}
