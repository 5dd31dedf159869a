/**
 * The Convex app a command works on: its root (the folder with package.json, the working directory),
 * the functions folder (`--dir`, else `functions` in convex.json, else `convex/`), and checks that it
 * is a Convex app at all. Each problem is a `CliError` naming the file and what to do.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { CliError } from "../errors.js";

export type Project = {
  /** Absolute path of the app root. */
  root: string;
  packageJson: { name?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  /** Absolute path of the functions folder. */
  functionsDir: string;
  /** The functions folder relative to the root, with forward slashes ("convex", "src/backend"). */
  functionsRel: string;
};

/** Reads a JSON file or throws a CliError naming it. Returns undefined when it does not exist. */
export function readJsonFile(path: string, label: string): unknown {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`${label}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the file's permissions");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${label}: not valid JSON (${(e as Error).message})`, `fix ${label} and run the command again`, "bad_config");
  }
}

export function loadProject(cwd: string, dirOverride?: string): Project {
  const root = resolve(cwd);
  const pkg = readJsonFile(join(root, "package.json"), "package.json");
  if (pkg === undefined) {
    throw new CliError(`no package.json in ${root}`, "run lakitu in the root folder of your Convex app (where package.json is)", "not_convex");
  }
  if (!pkg || typeof pkg !== "object" || Array.isArray(pkg)) throw new CliError("package.json: expected a JSON object", "fix package.json", "bad_config");
  const packageJson = pkg as Project["packageJson"];
  const deps = { ...packageJson.dependencies, ...packageJson.devDependencies };
  if (!("convex" in deps)) {
    throw new CliError(
      `this is not a Convex app: package.json does not depend on "convex"`,
      "set up Convex first (npm install convex && npx convex dev), then run lakitu init again",
      "not_convex",
    );
  }
  const functionsRel = functionsFolder(root, dirOverride);
  const functionsDir = resolve(root, functionsRel);
  const inside = relative(root, functionsDir);
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) {
    throw new CliError(`the functions folder ${functionsRel} must be a folder inside ${root}`, "pass a folder inside the app (--dir, or \"functions\" in convex.json)", "bad_config");
  }
  if (!existsSync(functionsDir) || !statSync(functionsDir).isDirectory()) {
    throw new CliError(
      `the Convex functions folder ${inside.split(sep).join("/")}/ does not exist`,
      dirOverride ? "check --dir" : "run `npx convex dev` once to create it, or pass --dir <folder> (or set \"functions\" in convex.json)",
      "no_functions_dir",
    );
  }
  return { root, packageJson, functionsDir, functionsRel: inside.split(sep).join("/") };
}

const CONVEX_JSON_HINT = 'fix convex.json, e.g. { "functions": "convex/" }';

/** The functions folder relative to the root: `dirOverride`, else `functions` in convex.json, else "convex". */
export function functionsFolder(root: string, dirOverride: string | undefined): string {
  if (dirOverride !== undefined) return dirOverride;
  const config = readJsonFile(join(root, "convex.json"), "convex.json");
  if (config === undefined) return "convex";
  if (!config || typeof config !== "object" || Array.isArray(config)) throw new CliError("convex.json: expected a JSON object", CONVEX_JSON_HINT, "bad_config");
  const functions = (config as { functions?: unknown }).functions;
  if (functions === undefined) return "convex";
  if (typeof functions !== "string" || functions.trim() === "") {
    throw new CliError(`convex.json: "functions" must be a folder path, got ${JSON.stringify(functions)}`, CONVEX_JSON_HINT, "bad_config");
  }
  return functions.replace(/\/+$/, "");
}
