/**
 * The `.lakitu/build/` folder `lakitu build` produces, rendered into a staging folder and swapped in
 * whole, so a failed build leaves the previous output untouched:
 *
 *   runtime/main.js, runtime/worker.js  the sandbox runtime with the app's KSAs (the local sandbox host
 *                                       mounts this folder at /opt/lakitu/runtime; the template copies it)
 *   runtime/package.json                `"type": "module"`: the bundles are ESM, and outside a package Node
 *                                       would warn (into every step's output) or refuse to load them
 *   runtime/VERSION                     the build's content version, readable inside the sandbox
 *   Dockerfile, template.json           the E2B template definition (Template.toDockerfile / toJSON)
 *   ksa-registry.json                   the app's KSAs as registry entries (params as JSON Schema)
 *   build.json                          version, what went in, sha256 of the bundles
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Template } from "e2b";
import { lakituTemplate, NODE_IMAGE_VARIANT, RUNTIME_DIR, WORKSPACE_DIR } from "../../template/template.js";
import { bundleRuntime } from "./bundle.js";
import { lakituPackage } from "./packageRoot.js";
import type { ProjectKsa } from "./projectKsas.js";

export const BUILD_DIR = ".lakitu/build";

export type BuildManifest = {
  version: string;
  lakitu: string;
  nodeImage: string;
  runtimeDir: string;
  workdir: string;
  runtime: Record<string, string>;
  ksas: { builtin: string[]; project: Array<{ name: string; file: string }> };
};

const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The Dockerfile of the template (independent of the app: the runtime is COPYed in). */
export function renderDockerfile(contextDir = "."): string {
  return Template.toDockerfile(lakituTemplate({ contextDir }));
}

export async function renderBuild(root: string, ksas: ProjectKsa[], builtin: string[]): Promise<{ dir: string; manifest: BuildManifest }> {
  const dir = join(root, BUILD_DIR);
  const staging = `${dir}.staging-${randomBytes(4).toString("hex")}`;
  mkdirSync(staging, { recursive: true });
  try {
    const projectFiles = [...new Set(ksas.map((k) => join(root, k.file)))];
    await bundleRuntime(join(staging, "runtime"), projectFiles);
    const template = lakituTemplate({ contextDir: staging });
    const dockerfile = Template.toDockerfile(template);
    // Every file of the runtime (entries, chunks, fonts) goes into the version.
    const runtime = Object.fromEntries(filesUnder(join(staging, "runtime")).map((f) => [f, sha(readFileSync(join(staging, "runtime", f)))]));
    const version = sha(`${dockerfile}\n${Object.entries(runtime).map(([f, h]) => `${f}:${h}`).join("\n")}`).slice(0, 12);
    const manifest: BuildManifest = {
      version,
      lakitu: lakituPackage().version,
      nodeImage: `node:${NODE_IMAGE_VARIANT}`,
      runtimeDir: RUNTIME_DIR,
      workdir: WORKSPACE_DIR,
      runtime,
      ksas: { builtin, project: ksas.map((k) => ({ name: k.name, file: k.file })) },
    };
    writeFileSync(join(staging, "runtime", "package.json"), `${JSON.stringify({ type: "module", private: true, version: lakituPackage().version })}\n`);
    writeFileSync(join(staging, "runtime", "VERSION"), `${version}\n`);
    writeFileSync(join(staging, "Dockerfile"), dockerfile);
    writeFileSync(join(staging, "template.json"), `${await Template.toJSON(template, false)}\n`);
    writeFileSync(join(staging, "ksa-registry.json"), `${JSON.stringify(ksas.map((k) => k.entry), null, 2)}\n`);
    writeFileSync(join(staging, "build.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    swapIn(staging, dir);
    return { dir, manifest };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Replaces `dir` with `staging` (the old output is removed only once the new one is in place). */
function swapIn(staging: string, dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  const old = `${dir}.old-${randomBytes(4).toString("hex")}`;
  const hadOld = existsSync(dir);
  if (hadOld) renameSync(dir, old);
  try {
    renameSync(staging, dir);
  } catch (e) {
    if (hadOld) renameSync(old, dir);
    throw e;
  }
  if (hadOld) rmSync(old, { recursive: true, force: true });
}

/** The last build's manifest, if there is one. */
export function readBuild(root: string): BuildManifest | undefined {
  const path = join(root, BUILD_DIR, "build.json");
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as BuildManifest;
}

/** Files under `dir` (source maps left out), as sorted paths relative to it with forward slashes. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith(".map")) out.push(relative(dir, p).split("\\").join("/"));
    }
  };
  walk(dir);
  return out.sort();
}
