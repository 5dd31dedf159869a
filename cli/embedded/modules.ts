/**
 * Loading Convex modules for convex-test outside Vite: a stand-in for `import.meta.glob`, and the
 * registration of the child components we use from their compiled `dist/component` folders.
 */
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import type { TestConvex } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";

type Modules = Record<string, () => Promise<any>>;
type AnyTestConvex = TestConvex<SchemaDefinition<GenericSchema, boolean>>;

/**
 * How often convex-test asked for a module (`requests`: once per function call, HTTP request and
 * nested call) and how often that reached `import()` (`imports`: once per module). Process-wide.
 */
export const moduleLoads = { requests: 0, imports: 0 };

/**
 * `{ "./a/b.ts": () => import(...) }` for every module under `dir` (tests and declarations excluded).
 *
 * Each loader imports its module once and then hands back the same promise. convex-test calls the
 * loader on every function call (twice per HTTP request: http.ts and the function's module); a bare
 * `import()` is answered from Node's module map, but only after the ESM loader resolved the specifier
 * again (under tsx, through its resolve hook on another thread). Measured on 1,500 heartbeats: 14 % of
 * the main thread's samples were in `import()`, and the process used 25–30 % more CPU, than with this
 * cache (which reached `import()` twice, for modules not loaded before).
 */
export function moduleMap(dir: string, exts = [".ts", ".js"]): Modules {
  const out: Modules = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (exts.some((e) => f.endsWith(e)) && !f.endsWith(".d.ts") && !f.includes(".test.") && !f.endsWith(".map")) {
        const url = pathToFileURL(p).href;
        out[`./${relative(dir, p).split("\\").join("/")}`] = loadOnce(() => import(url));
      }
    }
  };
  walk(dir);
  return out;
}

/** A loader that calls `load` once and returns that same promise afterwards (a failed load is retried). */
export function loadOnce(load: () => Promise<any>): () => Promise<any> {
  let loaded: Promise<any> | undefined;
  return () => {
    moduleLoads.requests++;
    if (!loaded) {
      moduleLoads.imports++;
      loaded = load().catch((e: unknown) => {
        loaded = undefined;
        throw e;
      });
    }
    return loaded;
  };
}

const require = createRequire(import.meta.url);

/** Resolves `pkg` as seen from the package at `from` (nested dependencies may not be hoisted). */
function packageDir(pkg: string, from?: string): string {
  const req = from ? createRequire(join(from, "package.json")) : require;
  return dirname(req.resolve(`${pkg}/package.json`));
}

async function registerPackage(t: AnyTestConvex, path: string, pkgDir: string) {
  const dir = join(pkgDir, "dist", "component");
  const schema = (await import(pathToFileURL(join(dir, "schema.js")).href)).default;
  t.registerComponent(path, schema, moduleMap(dir, [".js"]));
}

/** Registers Lakitu's child components (workflow with its workpool and batch worker, and agent) under `prefix`. */
export async function registerChildren(t: AnyTestConvex, prefix = ""): Promise<void> {
  const at = (name: string) => (prefix ? `${prefix}/${name}` : name);
  const workflow = packageDir("@convex-dev/workflow");
  const workpool = packageDir("@convex-dev/workpool", workflow);
  await registerPackage(t, at("workflow"), workflow);
  await registerPackage(t, at("workflow/workpool"), workpool);
  await registerPackage(t, at("workflow/workpool/batchWorker"), packageDir("@convex-dev/batch-worker", workpool));
  await registerPackage(t, at("agent"), packageDir("@convex-dev/agent"));
}
