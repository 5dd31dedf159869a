/**
 * What `npx convex dev` would do for a fixture app after `lakitu init`, offline: write a minimal
 * `_generated/` (the shape example/convex/_generated has), typecheck the app against the package's
 * sources (paths as example/tsconfig.json maps them), and load its modules for convex-test with the
 * E2B provider swapped for the in-memory test provider.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
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

export function writeGenerated(app: App): void {
  const gen = join(app.functionsDir, "_generated");
  mkdirSync(gen, { recursive: true });
  copyFileSync(join(REPO, "example/convex/_generated/server.ts"), join(gen, "server.ts"));
  const hasSchema = existsSync(join(app.functionsDir, "schema.ts"));
  writeFileSync(
    join(gen, "dataModel.ts"),
    hasSchema
      ? `import type { DataModelFromSchemaDefinition } from "convex/server";\nimport schema from "../schema.js";\nexport type DataModel = DataModelFromSchemaDefinition<typeof schema>;\n`
      : `import type { AnyDataModel } from "convex/server";\nexport type DataModel = AnyDataModel;\n`,
  );
  const mods = moduleFiles(app.functionsDir).map((f) => relative(app.functionsDir, f).replace(/\.tsx?$/, ""));
  const ident = (m: string) => m.replace(/[^A-Za-z0-9_]/g, "_");
  writeFileSync(
    join(gen, "api.ts"),
    [
      ...mods.map((m) => `import type * as ${ident(m)} from "../${m}.js";`),
      `import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";`,
      `import { anyApi, componentsGeneric } from "convex/server";`,
      `const fullApi: ApiFromModules<{ ${mods.map((m) => `${JSON.stringify(m)}: typeof ${ident(m)};`).join(" ")} }> = anyApi as any;`,
      `export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;`,
      `export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> = anyApi as any;`,
      `export const components = componentsGeneric() as unknown as { lakitu: import("lakitu/_generated/component.js").ComponentApi<"lakitu"> };`,
      "",
    ].join("\n"),
  );
}

/** `tsc -p` over the functions folder and lakitu/ (the app's KSAs). Returns tsc's output on failure. */
export function typecheck(app: App): { ok: boolean; output: string } {
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
  const r = spawnSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", config], { encoding: "utf8", timeout: 120_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** convex-test modules of the app; `lakitu_sandbox` is the test provider (same export, `provider`). */
export function appModules(app: App): Record<string, () => Promise<any>> {
  const provider = join(REPO, "convex/testing/provider.ts");
  const files = [...moduleFiles(app.functionsDir), ...readdirSync(join(app.functionsDir, "_generated")).map((f) => join(app.functionsDir, "_generated", f))];
  const schema = join(app.functionsDir, "schema.ts");
  if (existsSync(schema)) files.push(schema);
  return Object.fromEntries(files.map((f) => [f, f.endsWith("/lakitu_sandbox.ts") ? () => import(provider) : () => import(f)]));
}
