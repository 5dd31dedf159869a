/**
 * Offline codegen for the component: writes typed `_generated/api.ts` and `_generated/component.ts`
 * without a Convex deployment (the convex CLI needs a backend for component codegen).
 *
 * It imports every component module, reads each registered function's kind, visibility and
 * validators, and renders them with the convex CLI's own validator-to-TypeScript helpers (internal
 * files: `convex` is pinned in package.json for this reason).
 *
 *   npx tsx scripts/codegen.ts          write the files
 *   npx tsx scripts/codegen.ts --check  exit 1 if the committed files are stale
 *
 * `server.ts` and `dataModel.ts` only reference `schema.ts` and never go stale; they were produced by
 * `npx convex codegen --component-dir convex/component` and are committed as they are.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname, "..");
const componentDir = join(root, "convex", "component");
/** Child components used by ours: name -> package. Keep in sync with convex.config.ts. */
const CHILDREN: Array<[string, string]> = [
  ["agent", "@convex-dev/agent"],
  ["workflow", "@convex-dev/workflow"],
];

const convexDir = dirname(require.resolve("convex/package.json"));
const { parseValidator, validatorToType } = require(
  join(convexDir, "dist/cjs/cli/codegen_templates/validator_helpers.js"),
) as { parseValidator: (json: string) => unknown; validatorToType: (v: unknown, useIds: boolean) => string };

type Fn = { name: string; udfType: "Query" | "Mutation" | "Action"; args: string; returns: string };

const skip = (rel: string) =>
  rel.startsWith("_generated") || /\.test\.|^schema\.ts$|^convex\.config\.ts$|\.d\.ts$/.test(rel);

function moduleFiles(): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ts$/.test(f) && !skip(relative(componentDir, p))) files.push(p);
    }
  };
  walk(componentDir);
  return files.sort();
}

async function analyze() {
  const modules: Array<{ rel: string; fns: Fn[] }> = [];
  for (const file of moduleFiles()) {
    const rel = relative(componentDir, file).replace(/\\/g, "/").replace(/\.ts$/, "");
    const mod = (await import(pathToFileURL(file).href)) as Record<string, any>;
    const fns: Fn[] = [];
    for (const [name, value] of Object.entries(mod)) {
      if (!value || typeof value.exportArgs !== "function") continue;
      const udfType = value.isQuery ? "Query" : value.isMutation ? "Mutation" : value.isAction ? "Action" : null;
      // ComponentApi exposes only public functions (internal ones are not callable by the parent).
      if (!udfType || !value.isPublic) continue;
      // Public functions check their declared arguments themselves (convex/model/functions.ts) and expose them
      // as `lakituArgs`; the generated types come from those.
      const args = typeof value.lakituArgs === "function" ? value.lakituArgs() : value.exportArgs();
      fns.push({ name, udfType, args, returns: value.exportReturns() });
    }
    fns.sort((a, b) => (a.name < b.name ? -1 : 1));
    modules.push({ rel, fns });
  }
  return modules;
}

function fnType(fn: Fn): string {
  const a = parseValidator(fn.args);
  const r = parseValidator(fn.returns);
  const args = a ? validatorToType(a, false) : "any";
  const returns = r ? validatorToType(r, false) : "any";
  return `FunctionReference<"${fn.udfType.toLowerCase()}", "internal", ${args}, ${returns}, Name>`;
}

function renderComponent(modules: Array<{ rel: string; fns: Fn[] }>): string {
  // Nested module paths (a/b) become nested objects, as the CLI emits them.
  type Tree = { [k: string]: Tree | string };
  const tree: Tree = {};
  for (const m of modules) {
    if (m.fns.length === 0) continue;
    let node = tree;
    for (const seg of m.rel.split("/")) node = (node[seg] ??= {}) as Tree;
    for (const fn of m.fns) node[fn.name] = fnType(fn);
  }
  const emit = (node: Tree, indent: string): string =>
    "{\n" +
    Object.keys(node)
      .sort()
      .map((k) => {
        const v = node[k];
        return `${indent}  ${k}: ${typeof v === "string" ? v : emit(v, indent + "  ")};\n`;
      })
      .join("") +
    `${indent}}`;
  return `/* eslint-disable */
/**
 * Generated \`ComponentApi\` utility. Do not edit: run \`npm run codegen\` (scripts/codegen.ts).
 */
import type { FunctionReference } from "convex/server";

/**
 * A utility for referencing the Lakitu component's exposed API.
 *
 * Usage: \`const lakitu = new Lakitu(components.lakitu, ...)\`
 */
export type ComponentApi<Name extends string | undefined = string | undefined> = ${emit(tree, "")};
`;
}

function renderApi(modules: Array<{ rel: string }>): string {
  const ident = (s: string) => s.replace(/[^a-zA-Z0-9_$]/g, "_");
  return `/* eslint-disable */
/**
 * Generated \`api\` utility. Do not edit: run \`npm run codegen\` (scripts/codegen.ts).
 */
${modules.map((m) => `import type * as ${ident(m.rel)} from "../${m.rel}.js";`).join("\n")}

import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

const fullApi: ApiFromModules<{
${modules.map((m) => `  ${JSON.stringify(m.rel)}: typeof ${ident(m.rel)};`).join("\n")}
}> = anyApi as any;

export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;
export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> = anyApi as any;

export const components = componentsGeneric() as unknown as {
${CHILDREN.map(([n, pkg]) => `  ${n}: import("${pkg}/_generated/component.js").ComponentApi<"${n}">;`).join("\n")}
};
`;
}

const check = process.argv.includes("--check");
const modules = await analyze();
const outputs: Array<[string, string]> = [
  [join(componentDir, "_generated", "component.ts"), renderComponent(modules)],
  [join(componentDir, "_generated", "api.ts"), renderApi(modules)],
];
let stale = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  if (current === text) continue;
  if (check) {
    stale++;
    console.error(`stale: ${relative(root, path)} differs from what the component's functions generate`);
  } else writeFileSync(path, text);
}
if (check && stale) {
  console.error("Run `npm run codegen` and commit convex/component/_generated/.");
  process.exit(1);
}
console.log(
  check ? "codegen: _generated/ is up to date" : `codegen: wrote component.ts and api.ts (${modules.length} modules)`,
);
