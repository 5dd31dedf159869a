/**
 * esbuild for `lakitu build`: the sandbox runtime (runtime/main.ts + runtime/worker.ts, as
 * scripts/build-runtime.ts builds it) with the app's own KSAs registered, and single KSA files for
 * validation.
 *
 * The hook is the worker's `import("./ksaBuiltin.js")` (runtime/worker.ts): this build serves that
 * module from memory instead of runtime/ksaBuiltin.ts, exporting the built-ins plus the app's KSAs as
 * `BUILTIN_KSAS`. Agent code's `require("lakitu/ksa")` then exposes them like any built-in. No change
 * to the runtime's sources is needed.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type BuildOptions, type Plugin } from "esbuild";
import { lakituPackage } from "./packageRoot.js";

const BANNER = 'import { createRequire as __lakituCreateRequire } from "node:module"; const require = __lakituCreateRequire(import.meta.url);';

const base = (): BuildOptions => ({
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  logLevel: "silent",
  // CommonJS dependencies (sucrase) call require() for Node built-ins; an ESM bundle has none.
  banner: { js: BANNER },
});

/** `import … from "lakitu/ksa"` in the app's KSAs resolves to this package's ksa/ sources. */
function ksaAlias(): Plugin {
  const target = join(lakituPackage().root, "ksa", "index.ts");
  return {
    name: "lakitu-ksa-alias",
    setup(b) {
      b.onResolve({ filter: /^lakitu\/ksa$/ }, () => ({ path: target }));
    },
  };
}

/** Serves the worker's "./ksaBuiltin.js" with the built-ins followed by `projectFiles`' KSAs. */
function projectKsas(projectFiles: string[], served: { done: boolean }): Plugin {
  const pkg = lakituPackage().root;
  const worker = join(pkg, "runtime", "worker.ts");
  const ksaIndex = join(pkg, "ksa", "index.ts");
  const contents = [
    `import { BUILTIN_KSAS as builtins, createKsaModule, resolveAllowed } from ${JSON.stringify(ksaIndex)};`,
    ...projectFiles.map((f, i) => `import * as project${i} from ${JSON.stringify(f)};`),
    "const isKsa = (v) => !!v && typeof v === \"object\" && typeof v.name === \"string\" && !!v.functions && typeof v.functions === \"object\";",
    `const project = [...new Set([${projectFiles.map((_, i) => `project${i}`).join(", ")}].flatMap((m) => Object.values(m).filter(isKsa)))];`,
    "export const BUILTIN_KSAS = [...builtins, ...project];",
    "export { createKsaModule, resolveAllowed };",
  ].join("\n");
  return {
    name: "lakitu-project-ksas",
    setup(b) {
      b.onResolve({ filter: /^\.\/ksaBuiltin\.js$/ }, (args) => (args.importer === worker ? { path: "lakitu-ksas", namespace: "lakitu" } : undefined));
      b.onLoad({ filter: /.*/, namespace: "lakitu" }, () => {
        served.done = true;
        return { contents, loader: "js", resolveDir: join(pkg, "runtime") };
      });
    },
  };
}

/**
 * Bundles the runtime into `outdir` (main.js, worker.js, chunks/ and source maps), and copies the pdf
 * KSA's fonts into `outdir/fonts` (the sandbox sees only this folder, not node_modules).
 */
export async function bundleRuntime(outdir: string, projectFiles: string[]): Promise<string[]> {
  const pkg = lakituPackage().root;
  const served = { done: false };
  const result = await build({
    ...base(),
    absWorkingDir: pkg,
    entryPoints: { main: join(pkg, "runtime", "main.ts"), worker: join(pkg, "runtime", "worker.ts") },
    outdir,
    // As scripts/build-runtime.ts: code loaded on first use (the pdf KSA) lives in chunks/.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    sourcemap: "linked",
    metafile: true,
    plugins: [ksaAlias(), projectKsas(projectFiles, served)],
  });
  // If the worker stops importing "./ksaBuiltin.js", the app's KSAs would silently be left out.
  if (!served.done) throw new Error('runtime/worker.ts no longer imports "./ksaBuiltin.js"; lakitu build cannot register the app\'s KSAs (update cli/build/bundle.ts)');
  // Loaded here, not at the top: it brings pdf-lib along, which only this step needs.
  const { copyPdfFonts } = await import("../../ksa/markdownPdf.js");
  copyPdfFonts(outdir, pathToFileURL(join(pkg, "package.json")).href);
  return Object.keys(result.metafile?.outputs ?? {}).filter((f) => f.endsWith(".js"));
}

/**
 * Compiles one KSA file to ESM text for loading and validating it in this process: packages stay
 * imports (load the output from a folder inside the app so they resolve as in the app), and
 * "lakitu/ksa" is the module this process already has, passed in as `globalThis.__lakituKsa`, so
 * the file is checked by exactly the `defineKSA` the CLI uses.
 */
export async function bundleKsaFile(file: string, appRoot: string, ksaExports: string[]): Promise<string> {
  const shim: Plugin = {
    name: "lakitu-ksa-shim",
    setup(b) {
      b.onResolve({ filter: /^lakitu\/ksa$/ }, () => ({ path: "lakitu/ksa", namespace: "lakitu-shim" }));
      b.onLoad({ filter: /.*/, namespace: "lakitu-shim" }, () => ({ contents: `export const { ${ksaExports.join(", ")} } = globalThis.__lakituKsa;`, loader: "js" }));
    },
  };
  const result = await build({ ...base(), banner: undefined, packages: "external", absWorkingDir: appRoot, entryPoints: [file], write: false, plugins: [shim] });
  return result.outputFiles![0].text;
}

/** esbuild's first error as one line: `message (file:line:column)`. */
export function esbuildMessage(e: unknown): string {
  const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }).errors;
  const first = errors?.[0];
  if (!first) return (e as Error)?.message ?? String(e);
  const at = first.location ? ` (${first.location.file}:${first.location.line}:${first.location.column})` : "";
  return `${first.text}${at}`;
}
