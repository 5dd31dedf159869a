/**
 * The app's own KSAs: every module in `lakitu/ksa/` at the app root, each exporting one or more
 * `defineKSA(...)` definitions. Each file is bundled and loaded on its own, so every problem names
 * its file: it does not compile, throws when loaded, exports no KSA, fails `defineKSA`'s checks
 * (params must be zod object schemas, ...), reuses a built-in's or another file's name, or declares a
 * `gateway` function (only built-ins have server-side implementations).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ksaModule from "../../ksa/index.js";
import { BUILTIN_KSAS, defineKSA, toRegistryEntry } from "../../ksa/index.js";
import type { KsaDefinition, KsaRegistryEntry } from "../../ksa/types.js";
import { bundleKsaFile, esbuildMessage } from "./bundle.js";

export const PROJECT_KSA_DIR = "lakitu/ksa";

export type ProjectKsa = { file: string; name: string; definition: KsaDefinition; entry: KsaRegistryEntry };

export type ProjectKsaReport = {
  /** Files found, relative to the app root. */
  files: string[];
  ksas: ProjectKsa[];
  /** One line per problem, each starting with the file. Empty when everything is valid. */
  problems: string[];
};

export function findKsaFiles(root: string): string[] {
  const dir = join(root, PROJECT_KSA_DIR);
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return [];
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /\.(ts|mts|js|mjs)$/.test(n) && !/\.d\.ts$|\.test\.[mc]?[jt]s$/.test(n) && !n.startsWith("_") && !n.startsWith("."))
    .sort()
    .map((n) => `${PROJECT_KSA_DIR}/${n}`);
}

export async function loadProjectKsas(root: string): Promise<ProjectKsaReport> {
  const files = findKsaFiles(root);
  const problems: string[] = [];
  const ksas: ProjectKsa[] = [];
  const builtin = new Set(BUILTIN_KSAS.map((k) => k.name));
  if (!files.length) return { files, ksas, problems };
  // Inside the app, so the compiled files' package imports resolve as the app's do.
  const scratch = join(root, ".lakitu", `.ksa-check-${randomBytes(4).toString("hex")}`);
  mkdirSync(scratch, { recursive: true });
  (globalThis as { __lakituKsa?: unknown }).__lakituKsa = ksaModule;
  try {
    for (const [i, file] of files.entries()) {
      const defs = await loadFile(root, file, join(scratch, `${i}.mjs`), problems);
      for (const def of defs) {
        const name = String(def.name);
        const problem = checkDefinition(def, builtin, ksas);
        if (problem) {
          problems.push(`${file}: ${problem}`);
          continue;
        }
        ksas.push({ file, name, definition: def, entry: toRegistryEntry(def) });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (!readdirSync(join(root, ".lakitu")).length) rmSync(join(root, ".lakitu"), { recursive: true, force: true });
  }
  return { files, ksas, problems };
}

async function loadFile(root: string, file: string, out: string, problems: string[]): Promise<KsaDefinition[]> {
  let code: string;
  try {
    code = await bundleKsaFile(join(root, file), root, Object.keys(ksaModule));
  } catch (e) {
    problems.push(`${file}: does not compile: ${esbuildMessage(e)}`);
    return [];
  }
  writeFileSync(out, code);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(out).href)) as Record<string, unknown>;
  } catch (e) {
    problems.push(`${file}: fails when loaded: ${(e as Error)?.message ?? String(e)}`);
    return [];
  }
  const defs = [...new Set(Object.values(mod).filter(looksLikeKsa))];
  if (!defs.length) problems.push(`${file}: exports no KSA; export one made with defineKSA(...) from "lakitu/ksa"`);
  return defs;
}

function looksLikeKsa(v: unknown): v is KsaDefinition {
  return !!v && typeof v === "object" && "name" in v && "functions" in v;
}

function checkDefinition(def: KsaDefinition, builtin: Set<string>, seen: ProjectKsa[]): string | undefined {
  try {
    defineKSA(def);
  } catch (e) {
    return (e as Error).message;
  }
  if (builtin.has(def.name)) return `KSA "${def.name}" is already a built-in; rename it`;
  const twin = seen.find((k) => k.name === def.name);
  if (twin) return `KSA "${def.name}" is also defined in ${twin.file}; rename one of them`;
  const gateway = Object.entries(def.functions).find(([, f]) => f.gateway === true);
  if (gateway) {
    return `KSA "${def.name}" function "${gateway[0]}" uses gateway: true, which only built-in KSAs can (the component has no implementation for it); give it a \`local\` implementation`;
  }
  return undefined;
}
