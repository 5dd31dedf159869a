/**
 * Bundles `lakitu dev`'s dashboard page (dashboard/main.tsx + index.html) into dist/dashboard/, which
 * the installed package serves (cli/dev/assets.ts). Part of `npm run build`.
 *   npx tsx scripts/build-dashboard.ts [--outdir dist/dashboard]
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { dashboardBuildOptions } from "../cli/dev/assets.js";

const root = resolve(import.meta.dirname, "..");

export async function buildDashboard(outdir = join(root, "dist", "dashboard")): Promise<string[]> {
  mkdirSync(outdir, { recursive: true });
  const result = await build({ ...dashboardBuildOptions(join(root, "dashboard", "main.tsx")), outdir, metafile: true });
  copyFileSync(join(root, "dashboard", "index.html"), join(outdir, "index.html"));
  return [...Object.keys(result.metafile?.outputs ?? {}).map((f) => resolve(f)), join(outdir, "index.html")];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const i = process.argv.indexOf("--outdir");
  const files = await buildDashboard(i > 0 ? resolve(process.argv[i + 1]) : undefined);
  process.stdout.write(`dashboard bundled: ${files.join(", ")}\n`);
}
