/**
 * The packages the files `lakitu init` writes import, and the command that installs the missing ones
 * with the app's own package manager (found from its lockfile).
 *   lakitu       the client, the component and `lakitu/e2b`
 *   zod          the app's KSAs declare their parameters with it (lakitu/ksa/slug.ts)
 * (The provider action reads no Node API itself, so it needs no @types/node.)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Project } from "../project/project.js";

export type PackageManager = "npm" | "pnpm" | "yarn" | "bun";
export type Missing = { dependencies: string[]; devDependencies: string[] };

export function missingDependencies(project: Project, lakituVersion: string): Missing {
  const have = { ...project.packageJson.dependencies, ...project.packageJson.devDependencies };
  const want = (name: string, spec: string) => (name in have ? [] : [`${name}@${spec}`]);
  return {
    dependencies: [...want("lakitu", `^${lakituVersion}`), ...want("zod", "^4")],
    devDependencies: [],
  };
}

export function packageManager(root: string): PackageManager {
  if (existsSync(join(root, "pnpm-lock.yaml"))) return "pnpm";
  if (existsSync(join(root, "yarn.lock"))) return "yarn";
  if (existsSync(join(root, "bun.lock")) || existsSync(join(root, "bun.lockb"))) return "bun";
  return "npm";
}

/** The commands (program and arguments) that install what is missing; none when nothing is. */
export function installCommands(pm: PackageManager, missing: Missing): Array<{ cmd: string; args: string[] }> {
  const add = pm === "npm" ? ["install"] : ["add"];
  const dev = pm === "bun" ? "-d" : pm === "npm" ? "--save-dev" : "-D";
  const out: Array<{ cmd: string; args: string[] }> = [];
  if (missing.dependencies.length) out.push({ cmd: pm, args: [...add, ...missing.dependencies] });
  if (missing.devDependencies.length) out.push({ cmd: pm, args: [...add, dev, ...missing.devDependencies] });
  return out;
}
