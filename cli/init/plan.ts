/**
 * What `lakitu init` would do to an app, computed without writing anything: for each file, its new
 * content and whether that creates, updates, keeps or conflicts. Applying is a separate step.
 *
 * Files written whole (the functions, the provider, the example KSA) follow the manifest:
 *   missing                         → create (or skip, if init wrote it before and you removed it)
 *   same as what init would write   → unchanged
 *   as init wrote it last time      → update to the new content
 *   changed by you, nothing new     → kept as you have it
 *   changed by you (or not init's)  → conflict, unless --force
 * Patched files (convex.config.ts, .env.example) are edited in place, idempotently. (No cron: the
 * component runs its reaper from its own crons.ts.)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "../errors.js";
import type { Project } from "../project/project.js";
import { NEW_CONVEX_CONFIG, patchConvexConfig } from "./configPatch.js";
import { manifestText, MANIFEST_PATH, sha256, type Manifest } from "./manifest.js";
import { EXAMPLE_KSA, EXAMPLE_KSA_PATH, envExample, LAKITU_DIR_GITIGNORE, lakituFunctions, PROVIDER_MODULE, providerAction } from "./scaffold.js";
import { ManualStepError, ParseError } from "./tsEdit.js";
import { APP_KSAS_MODULE, appKsasModule } from "../build/appKsasModule.js";

export type Action = "create" | "update" | "unchanged" | "kept" | "skipped" | "conflict";

export type PlannedFile = {
  /** Relative to the app root, forward slashes. */
  path: string;
  what: string;
  action: Action;
  before?: string;
  after?: string;
  notes: string[];
  /** For a conflict: what the user can do. */
  snippet?: string;
};

export type Plan = { files: PlannedFile[]; manifest: PlannedFile };

export function planInit(project: Project, manifest: Manifest | undefined, opts: { force: boolean }): Plan {
  const read = (rel: string) => {
    const p = join(project.root, rel);
    if (!existsSync(p)) return undefined;
    try {
      return readFileSync(p, "utf8");
    } catch (e) {
      throw new CliError(`${rel}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the file's permissions");
    }
  };
  const fn = (name: string) => `${project.functionsRel}/${name}`;
  const ext = importExtension(project.functionsDir);
  const nextManifest: Manifest = { version: 1, functionsDir: project.functionsRel, files: {} };
  const whole = (path: string, what: string, content: string, skipIfAbsent?: string) =>
    planWhole(path, what, content, read(path), manifest?.files[path], opts.force, nextManifest, skipIfAbsent);

  const exampleKsa = whole(EXAMPLE_KSA_PATH, "an example KSA of your own (lakitu build bundles this folder)", EXAMPLE_KSA, otherKsas(project.root));
  const files: PlannedFile[] = [
    patched(fn("convex.config.ts"), "installs the component (app.use) and declares the model keys", read(fn("convex.config.ts")), (code) => patchConvexConfig(code ?? NEW_CONVEX_CONFIG)),
    whole(fn("lakitu.ts"), "the Lakitu client and your UI's functions (⚠️ AUTH CHECK inside)", lakituFunctions(ext)),
    whole(fn(`${PROVIDER_MODULE}.ts`), `the "use node" E2B provider action`, providerAction(ext)),
    patched(".env.example", "lists the keys to set in the deployment", read(".env.example"), (code) => ({ code: envExample(code), notes: [] })),
    exampleKsa,
    // lakitu build owns this file once it exists; init only writes a first one for lakitu.ts to import.
    patched(fn(`${APP_KSAS_MODULE}.ts`), "your KSAs' names for the client (lakitu build keeps it current)", read(fn(`${APP_KSAS_MODULE}.ts`)), (code) =>
      code !== undefined
        ? { code, notes: [] }
        : exampleKsa.action === "skipped" && !existsSync(join(project.root, EXAMPLE_KSA_PATH))
          ? { code: appKsasModule([]), notes: ["run npx lakitu build to list your KSAs in it"] }
          : { code: appKsasModule(["slug"]), notes: [] },
    ),
    whole(".lakitu/.gitignore", "keeps build output out of git", LAKITU_DIR_GITIGNORE),
  ];
  const previous = read(MANIFEST_PATH);
  const text = manifestText(nextManifest);
  const manifestFile: PlannedFile = {
    path: MANIFEST_PATH,
    what: "what init wrote (sha256), to detect your changes",
    action: previous === undefined ? "create" : previous === text ? "unchanged" : "update",
    before: previous,
    after: text,
    notes: [],
  };
  return { files, manifest: manifestFile };
}

function planWhole(
  path: string,
  what: string,
  content: string,
  current: string | undefined,
  base: string | undefined,
  force: boolean,
  next: Manifest,
  skipIfAbsent: string | undefined,
): PlannedFile {
  const file: PlannedFile = { path, what, action: "create", before: current, after: content, notes: [] };
  const record = (sha: string | undefined) => {
    if (sha) next.files[path] = sha;
  };
  if (current === undefined) {
    if ((base || skipIfAbsent) && !force) {
      record(base);
      return { ...file, action: "skipped", after: undefined, notes: [base ? "removed since init wrote it; --force writes it again" : skipIfAbsent!] };
    }
    record(sha256(content));
    return file;
  }
  if (current === content) {
    record(sha256(content));
    return { ...file, action: "unchanged" };
  }
  if (force || (base && sha256(current) === base)) {
    record(sha256(content));
    return { ...file, action: "update", notes: force ? ["overwritten (--force)"] : [] };
  }
  if (base && sha256(content) === base) {
    record(base);
    return { ...file, action: "kept", after: undefined, notes: ["changed by you; init has nothing new for it"] };
  }
  return {
    ...file,
    action: "conflict",
    notes: [base ? "changed by you, and init has a newer version of it" : "exists and was not written by lakitu init"],
    snippet: "keep yours and merge by hand (lakitu init --dry-run shows the difference), or run lakitu init --force to overwrite it",
  };
}

function patched(path: string, what: string, current: string | undefined, patch: (code: string | undefined) => { code: string; notes: string[] }): PlannedFile {
  const file: PlannedFile = { path, what, action: "create", before: current, notes: [] };
  try {
    const { code, notes } = patch(current);
    const action: Action = current === undefined ? "create" : code === current ? "unchanged" : "update";
    return { ...file, action, after: code, notes: action === "unchanged" ? [] : notes };
  } catch (e) {
    if (e instanceof ParseError) {
      throw new CliError(`${path}: cannot parse it (${e.message})`, `fix the syntax error in ${path} and run lakitu init again`, "bad_config");
    }
    if (e instanceof ManualStepError) return { ...file, action: "conflict", notes: [e.message], snippet: `add this by hand:\n${e.snippet}` };
    throw e;
  }
}

/** ".js" when the app's own files import `./_generated/…​.js`, else "". */
function importExtension(functionsDir: string): string {
  for (const f of readdirSync(functionsDir)) {
    if (!/\.(ts|tsx)$/.test(f) || f.startsWith("lakitu")) continue;
    try {
      const text = readFileSync(join(functionsDir, f), "utf8");
      if (/from\s+["']\.\/_generated\/\w+\.js["']/.test(text)) return ".js";
      if (/from\s+["']\.\/_generated\/\w+["']/.test(text)) return "";
    } catch {
      // unreadable: look at the next one
    }
  }
  return "";
}

/** A reason to skip the example KSA: the app already has KSAs of its own. */
function otherKsas(root: string): string | undefined {
  const dir = join(root, "lakitu", "ksa");
  if (!existsSync(dir)) return undefined;
  const own = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "slug.ts");
  return own.length ? "lakitu/ksa/ already has your KSAs; no example needed" : undefined;
}
