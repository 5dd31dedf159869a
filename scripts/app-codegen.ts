/**
 * Offline codegen for a Convex app that uses components: writes `<functions>/_generated/` (api.js,
 * api.d.ts, server.js, server.d.ts, dataModel.d.ts) in the shape convex 1.48's `npx convex dev`
 * emits, without a deployment. The CLI needs a backend to type `components` and the env; here the
 * text comes from the CLI's own codegen templates and prettier, and the two facts a backend would
 * supply are read from the app itself:
 *   - the app's modules, found with the CLI's own `entryPoints`;
 *   - `components` and the declared env, by evaluating the app's convex.config.ts.
 *
 *   npx tsx scripts/app-codegen.ts <functions dir> [--check]
 *
 * `--check` exits 1 when the committed files differ. Relies on CLI internals: `convex` is pinned.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

type Ctx = { fs: unknown; crash(args: { printedMessage?: string }): Promise<never> };
type ChildComponent = [name: string, definition: unknown, env: unknown, httpPrefix?: string];
type AppDefinition = { _childComponents: ChildComponent[]; _env?: Record<string, { json: unknown; isOptional: string }> };

/**
 * The CLI modules, resolved from the app (so the app's own convex version writes its own shape).
 * convex ships its CLI as one bundle; the per-file modules used here require packages that only the
 * bundle inlines (@sentry/node, ora, ...). The templates never call them, so those load as stubs.
 */
function cli(appRoot: string) {
  const require = createRequire(join(appRoot, "package.json"));
  const dir = dirname(require.resolve("convex/package.json"));
  const load = (p: string) => withStubbedPackages(() => require(join(dir, "dist/cjs", p)));
  const componentApi = load("cli/codegen_templates/component_api.js");
  return {
    prettier: require(require.resolve("prettier", { paths: [dir] })) as { format(text: string, opts: object): Promise<string> },
    nodeFs: load("bundler/fs.js").nodeFs as unknown,
    componentApiDTS: componentApi.componentApiDTS as (
      ctx: Ctx,
      startPush: unknown,
      root: ComponentDirectory,
      component: ComponentDirectory,
      componentsMap: Map<string, { importSpecifier: string }>,
      opts: { staticApi: boolean; useComponentApiImports: boolean },
    ) => Promise<string>,
    componentApiJs: componentApi.componentApiJs as () => string,
    serverCodegen: load("cli/codegen_templates/server.js").serverCodegen as (o: { useTypeScript: boolean; envVars?: unknown }) => { JS: string; DTS: string },
    dataModel: load("cli/codegen_templates/dataModel.js") as { dynamicDataModelDTS(): string; noSchemaDataModelDTS(): string },
  };
}
type ComponentDirectory = { isRoot: boolean; path: string; definitionPath: string };

function withStubbedPackages<T>(fn: () => T): T {
  const Module = createRequire(import.meta.url)("node:module") as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = Module._load;
  const stub: any = new Proxy(function () {}, { get: (_t, k) => (k === "__esModule" ? false : stub), apply: () => stub, construct: () => stub });
  Module._load = function (request: string, ...rest: unknown[]) {
    try {
      return original.call(this, request, ...rest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND" || /^[./]/.test(request)) throw e;
      return stub;
    }
  };
  try {
    return fn();
  } finally {
    Module._load = original;
  }
}

/**
 * Evaluates convex.config.ts for its child components (name → package) and declared env vars. The
 * Convex bundler gives each imported component definition a `componentDefinitionPath`; here a
 * temporary getter supplies it from the definition's own name while the config runs.
 */
async function readAppConfig(functionsDir: string) {
  const configPath = join(functionsDir, "convex.config.ts");
  const children: Array<{ name: string; pkg: string }> = [];
  if (!existsSync(configPath)) return { children, envVars: [] as Array<[string, { value: string; optional?: boolean }]> };
  const require = createRequire(configPath);
  const packageOf = new Map<string, string>();
  // Component configs use their own children too, so the getter is in place for every import.
  const proto = Object.prototype as Record<string, unknown>;
  Object.defineProperty(proto, "componentDefinitionPath", {
    configurable: true,
    get(this: { _name?: unknown }) {
      return typeof this._name === "string" ? this._name : undefined;
    },
  });
  let app: AppDefinition;
  try {
    for (const m of readFileSync(configPath, "utf8").matchAll(/import\s+\w+\s+from\s+["']((.+?)\/convex\.config(?:\.js)?)["']/g)) {
      let url: string;
      try {
        url = pathToFileURL(require.resolve(m[1])).href;
      } catch {
        url = m[1]; // not installed: let tsx resolve it (tsconfig paths, for an app inside this repo)
      }
      const definition = (await import(url)).default as { _name?: string };
      if (definition?._name) packageOf.set(definition._name, m[2]);
    }
    app = (await import(pathToFileURL(configPath).href)).default as AppDefinition;
  } finally {
    delete proto.componentDefinitionPath;
  }
  for (const [name, definition] of app._childComponents) {
    const own = (definition as { _name?: string })._name;
    const pkg = own ? packageOf.get(own) : undefined;
    if (!pkg) throw new Error(`convex.config.ts: cannot tell which package component "${name}" comes from (import it as <package>/convex.config.js)`);
    children.push({ name, pkg });
  }
  // As convex's exportAppForAnalysis serializes them (calling it whole would serialize children too).
  const envVars = Object.entries(app._env ?? {}).map(([name, validator]) => [
    name,
    { type: "value", value: JSON.stringify(validator.json), ...(validator.isOptional === "optional" ? { optional: true } : {}) },
  ]) as Array<[string, { value: string; optional?: boolean }]>;
  return { children, envVars };
}

export async function appCodegen(functionsDir: string, appRoot: string): Promise<Record<string, string>> {
  const c = cli(appRoot);
  const ctx: Ctx & { fs: unknown } = {
    fs: c.nodeFs,
    crash: async (args) => {
      throw new Error(args.printedMessage ?? "convex codegen failed");
    },
  };
  const { children, envVars } = await readAppConfig(functionsDir);
  // What a backend's analysis would say of the app: its child components, each from a package.
  const root: ComponentDirectory = { isRoot: true, path: functionsDir, definitionPath: join(functionsDir, "convex.config.ts") };
  const childPath = (pkg: string) => `node_modules/${pkg}`;
  const startPush = { analysis: { "": { definition: { childComponents: children.map(({ name, pkg }) => ({ name, path: childPath(pkg) })) } } } };
  const componentsMap = new Map(children.map(({ pkg }) => [join(functionsDir, childPath(pkg)), { importSpecifier: pkg }]));
  const api = await c.componentApiDTS(ctx, startPush, root, root, componentsMap, { staticApi: false, useComponentApiImports: true });
  const server = c.serverCodegen({ useTypeScript: false, envVars });
  const hasSchema = existsSync(join(functionsDir, "schema.ts")) || existsSync(join(functionsDir, "schema.js"));
  const files: Record<string, string> = {
    "api.d.ts": api,
    "api.js": c.componentApiJs(),
    "dataModel.d.ts": hasSchema ? c.dataModel.dynamicDataModelDTS() : c.dataModel.noSchemaDataModelDTS(),
    "server.d.ts": server.DTS,
    "server.js": server.JS,
  };
  for (const [name, text] of Object.entries(files)) files[name] = await c.prettier.format(text, { parser: "typescript", pluginSearchDirs: false });
  return files;
}

/** Writes (or with `check`, compares) the files; returns the names that differed. */
export async function writeAppCodegen(functionsDir: string, opts: { check?: boolean; appRoot?: string } = {}): Promise<string[]> {
  const files = await appCodegen(functionsDir, opts.appRoot ?? dirname(functionsDir));
  const gen = join(functionsDir, "_generated");
  const stale: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(gen, name);
    if (existsSync(path) && readFileSync(path, "utf8") === text) continue;
    stale.push(name);
    if (!opts.check) {
      mkdirSync(gen, { recursive: true });
      writeFileSync(path, text);
    }
  }
  return stale;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const check = args.includes("--check");
  const dir = args.find((a) => !a.startsWith("--"));
  if (!dir) {
    console.error("usage: tsx scripts/app-codegen.ts <functions dir> [--check]");
    process.exit(2);
  }
  const functionsDir = resolve(dir);
  const stale = await writeAppCodegen(functionsDir, { check });
  const where = relative(process.cwd(), join(functionsDir, "_generated")) || ".";
  if (check && stale.length) {
    console.error(`app codegen: stale in ${where}: ${stale.join(", ")}; run npx tsx scripts/app-codegen.ts ${dir}`);
    process.exit(1);
  }
  console.log(check ? `app codegen: ${where} is up to date` : stale.length ? `app codegen: wrote ${stale.join(", ")} in ${where}` : `app codegen: ${where} unchanged`);
}
