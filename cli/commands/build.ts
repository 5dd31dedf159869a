/**
 * `lakitu build`: checks the app's KSAs (lakitu/ksa/), bundles the sandbox runtime with them, and
 * renders the E2B template definition into .lakitu/build/ (see build/render.ts). `--dockerfile`
 * prints the template's Dockerfile and builds nothing.
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import type { Out } from "../io.js";
import { defineCommand } from "../command.js";
import { CliError } from "../errors.js";
import { c } from "../output.js";
import { BUILTIN_KSAS } from "../../ksa/index.js";
import { loadProjectKsas, PROJECT_KSA_DIR } from "../build/projectKsas.js";
import { renderBuild, renderDockerfile, type BuildManifest } from "../build/render.js";
import { writeAppKsasModule } from "../build/appKsasModule.js";

export const build = defineCommand({
  spec: {
    name: "build",
    summary: "Checks the app's KSAs (lakitu/ksa/), bundles the sandbox runtime with them and renders the E2B template into .lakitu/build/.",
    flags: {
      dockerfile: { type: "boolean", description: "print the template's Dockerfile (Template.toDockerfile) and build nothing" },
    },
    details: `Output: .lakitu/build/runtime/ (what the local sandbox host mounts at /opt/lakitu/runtime and the
template copies there), Dockerfile, template.json, ksa-registry.json and build.json (with the content
version that lakitu publish tags the template with). A failed build leaves the previous output as it was.
It also writes <functions folder>/lakitu_ksas.ts, the names of the app's KSAs that convex/lakitu.ts
passes to the client, so stages may list them in allowedKsas.`,
  },
  async run({ flags }, io, out) {
    if (flags.dockerfile) {
      const dockerfile = renderDockerfile();
      if (!out.json) io.stdout(dockerfile);
      return { ok: true, data: { dockerfile } };
    }
    const root = appRoot(io.cwd);
    const manifest = await buildApp(root, out);
    return { ok: true, data: { dir: join(root, ".lakitu", "build"), ...manifest } };
  },
});

export function appRoot(cwd: string): string {
  if (!existsSync(join(cwd, "package.json"))) {
    throw new CliError(`no package.json in ${cwd}`, "run lakitu in the root folder of your app (where package.json and lakitu/ are)", "not_convex");
  }
  return cwd;
}

/** Validates the KSAs and builds; throws a CliError listing every invalid KSA. Shared with publish. */
export async function buildApp(root: string, out: Out): Promise<BuildManifest> {
  const t0 = Date.now();
  const report = await loadProjectKsas(root);
  if (report.problems.length) {
    throw new CliError(
      `${report.problems.length} problem${report.problems.length > 1 ? "s" : ""} in the app's KSAs (${PROJECT_KSA_DIR}/); nothing was built`,
      "fix them and run lakitu build again",
      "invalid_ksa",
      report.problems,
    );
  }
  const builtin = BUILTIN_KSAS.map((k) => k.name);
  out.line(`${c.bold("lakitu build")} KSAs: ${builtin.join(", ")}${report.ksas.length ? `, ${c.cyan(report.ksas.map((k) => k.name).join(", "))}` : c.dim(` (no KSAs of your own in ${PROJECT_KSA_DIR}/)`)}`);
  const { dir, manifest } = await renderBuild(root, report.ksas, builtin);
  const rel = relative(root, dir) || ".";
  out.line(`  ${c.green("✔")} runtime bundled into ${rel}/runtime ${c.dim(`(main.js, worker.js)`)}`);
  out.line(`  ${c.green("✔")} template rendered: ${rel}/Dockerfile, ${rel}/template.json ${c.dim(`(${manifest.nodeImage}, runtime at ${manifest.runtimeDir})`)}`);
  const names = report.ksas.map((k) => k.name);
  const module = writeAppKsasModule(root, names);
  if (module) out.line(`  ${c.green("✔")} ${module.path} lists the app's KSAs for the client ${c.dim(module.changed ? `(${names.join(", ") || "none"})` : "(unchanged)")}`);
  out.line(`  version ${c.bold(manifest.version)} ${c.dim(`in ${((Date.now() - t0) / 1000).toFixed(1)}s`)}`);
  return manifest;
}
