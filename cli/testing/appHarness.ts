/**
 * What `npx convex dev` would do for a fixture app after `lakitu init`, offline: write its
 * `_generated/` in the shape convex 1.48 emits, typecheck the app against the package's
 * sources (paths as example/tsconfig.json maps them), and load its modules for convex-test with the
 * E2B provider swapped for the in-memory test provider.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO, type App } from "./fixtures.js";

const IGNORED = /(^|\/)(_generated\/|convex\.config\.ts$|schema\.ts$|.*\.test\.ts$|.*\.d\.ts$)/;

function moduleFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "_generated" ? [] : moduleFiles(p, base);
    return /\.tsx?$/.test(e.name) && !IGNORED.test(relative(base, p)) ? [p] : [];
  });
}

/**
 * `_generated/` as `npx convex dev` writes it for the app (scripts/app-codegen.ts, offline), run by
 * tsx in its own process with the app's tsconfig paths (they resolve "lakitu" to this repo).
 */
export async function writeGenerated(app: App): Promise<void> {
  const config = writeTsconfig(app);
  const r = spawnSync(process.execPath, [join(REPO, "node_modules/tsx/dist/cli.mjs"), join(REPO, "scripts/app-codegen.ts"), app.functionsDir], {
    cwd: app.root,
    encoding: "utf8",
    env: { ...process.env, TSX_TSCONFIG_PATH: config },
    timeout: 120_000,
  });
  if (r.status !== 0 || !r.stdout.includes("wrote")) throw new Error(`app codegen failed: ${r.stdout}${r.stderr}`);
}

/** The TypeScript compilers apps use: 7 (the native one) and 5.9 (what `npm i -D typescript` gave many). */
export const COMPILERS = { "7": "node_modules/typescript/bin/tsc", "5.9": "node_modules/typescript-5.9/bin/tsc" } as const;

/** A tsconfig over the functions folder and lakitu/ (the app's KSAs), "lakitu" mapped to the sources. */
function writeTsconfig(app: App): string {
  const src = (p: string) => [join(REPO, p)];
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2023", "DOM"],
      module: "ESNext",
      moduleResolution: "Bundler",
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      isolatedModules: true,
      types: ["node"],
      paths: {
        lakitu: src("convex/client/index.ts"),
        "lakitu/e2b": src("convex/providers/e2b.ts"),
        "lakitu/ksa": src("ksa/index.ts"),
        "lakitu/convex.config.js": src("convex/component/convex.config.ts"),
        "lakitu/_generated/component.js": src("convex/component/_generated/component.ts"),
      },
    },
    include: [relative(app.root, app.functionsDir), "lakitu"],
  };
  const config = join(app.root, "tsconfig.lakitu-test.json");
  writeFileSync(config, JSON.stringify(tsconfig, null, 2));
  return config;
}

/** `tsc -p` over the app with one of the compilers. Returns tsc's output on failure. */
export function typecheck(app: App, compiler: keyof typeof COMPILERS = "7"): { ok: boolean; output: string } {
  const config = writeTsconfig(app);
  const r = spawnSync(process.execPath, [join(REPO, COMPILERS[compiler]), "-p", config], { encoding: "utf8", timeout: 120_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** convex-test modules of the app; `lakitu_sandbox` is the test provider (same export, `provider`). */
export function appModules(app: App): Record<string, () => Promise<any>> {
  const provider = join(REPO, "convex/testkit/provider.ts");
  const files = [...moduleFiles(app.functionsDir), ...readdirSync(join(app.functionsDir, "_generated")).map((f) => join(app.functionsDir, "_generated", f))];
  const schema = join(app.functionsDir, "schema.ts");
  if (existsSync(schema)) files.push(schema);
  return Object.fromEntries(files.map((f) => [f, f.endsWith("/lakitu_sandbox.ts") ? () => import(provider) : () => import(f)]));
}
