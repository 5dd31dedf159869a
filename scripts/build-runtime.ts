/**
 * Bundles the sandbox runtime: `runtime/main.ts` → `runtime/dist/main.js` and the step worker
 * `runtime/worker.ts` → `runtime/dist/worker.js` (ESM, Node 20, every dependency inlined, so the
 * sandbox needs only `node` and this folder). The executor finds `worker.js` next to `main.js`; the
 * pdf KSA finds its fonts in `fonts/` next to them (copied here from the dejavu-fonts-ttf package:
 * the sandbox sees only this folder, not node_modules).
 *
 *   npx tsx scripts/build-runtime.ts            build into runtime/dist
 *   npx tsx scripts/build-runtime.ts --outdir X build elsewhere
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type BuildOptions } from "esbuild";

const root = resolve(import.meta.dirname, "..");

/**
 * Builds the runtime bundles into `outdir` (default `runtime/dist`), with the pdf fonts in
 * `outdir/fonts`. `entries` adds or replaces entry points (tests bundle the executor on its own to
 * measure it). Returns the bundles written (the .js files).
 */
export async function buildRuntime(opts: { outdir?: string; entries?: Record<string, string>; minify?: boolean } = {}): Promise<string[]> {
  const outdir = resolve(root, opts.outdir ?? "runtime/dist");
  const options: BuildOptions = {
    absWorkingDir: root,
    entryPoints: opts.entries ?? { main: "runtime/main.ts", worker: "runtime/worker.ts" },
    outdir,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // The pdf KSA's code (pdf-lib, fontkit) goes into a chunk loaded on first use, so a step's worker
    // does not parse it at boot.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    minify: opts.minify ?? false,
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
    // CommonJS dependencies (sucrase) call require() for Node built-ins; an ESM bundle has none.
    banner: { js: 'import { createRequire as __lakituCreateRequire } from "node:module"; const require = __lakituCreateRequire(import.meta.url);' },
  };
  const result = await build(options);
  const { copyPdfFonts } = await import("../ksa/markdownPdf.js"); // (brings pdf-lib along: only here)
  copyPdfFonts(outdir);
  return Object.keys(result.metafile?.outputs ?? {}).filter((f) => f.endsWith(".js"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const i = process.argv.indexOf("--outdir");
  const files = await buildRuntime({ outdir: i > 0 ? process.argv[i + 1] : undefined });
  console.log(`built ${files.join(", ")}`);
}
