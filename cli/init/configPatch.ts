/**
 * Installs the component in the app's `convex.config.ts`:
 *
 *   import lakitu from "lakitu/convex.config.js";
 *   const app = defineApp({ env: { OPENAI_API_KEY: v.optional(v.string()), ... } });
 *   app.use(lakitu, { httpPrefix: "/lakitu/", env: { OPENAI_API_KEY: app.env.OPENAI_API_KEY, ... } });
 *
 * `app.env.X` throws at deploy time unless the app declares X in `defineApp({ env })` (convex 1.48),
 * so the keys are declared there too, as optional strings; declarations the app already has are kept.
 * An app that already uses the component is left alone (it may mount the routes itself).
 */
import {
  addImport,
  addObjectMembers,
  applyEdits,
  block,
  defaultImportLocal,
  detectStyle,
  ensureNamedImport,
  findCallDeclaration,
  insertStatementAfter,
  keyName,
  ManualStepError,
  memberCallStatements,
  namedImportLocal,
  parseTs,
  type AstNode,
  type Edit,
  type Style,
} from "./tsEdit.js";

/** Model keys the app passes to the component's env (the component declares them optional). */
export const COMPONENT_ENV_KEYS = ["OPENAI_API_KEY", "OPENROUTER_API_KEY", "ANTHROPIC_API_KEY"] as const;
export const LAKITU_CONFIG_SOURCES = ["lakitu/convex.config.js", "lakitu/convex.config"] as const;
export const HTTP_PREFIX = "/lakitu/";

export const NEW_CONVEX_CONFIG = `import { defineApp } from "convex/server";

const app = defineApp();

export default app;
`;

export type PatchResult = { code: string; notes: string[] };

export function patchConvexConfig(code: string): PatchResult {
  const body = parseTs(code);
  const style = detectStyle(code, body);
  const defineApp = namedImportLocal(body, ["convex/server"], "defineApp");
  const decl = defineApp ? findCallDeclaration(body, defineApp) : undefined;
  if (!decl) {
    throw new ManualStepError(
      "convex.config.ts has no `const app = defineApp(...)` to add the component to",
      `${snippetImports(style)}\n\n${useStatement("app", "lakitu", style)}`,
    );
  }
  const existing = defaultImportLocal(body, LAKITU_CONFIG_SOURCES);
  if (existing && memberCallStatements(body, decl.name, "use").some((s) => isUseOf(s, existing))) {
    return { code, notes: ["the component is already installed"] };
  }

  const edits: Edit[] = [];
  const notes: string[] = [];
  let lakitu = existing;
  if (!lakitu) {
    lakitu = topLevelNames(body).has("lakitu") ? "lakituComponent" : "lakitu";
    edits.push(addImport(code, body, `import ${lakitu} from ${q(style, LAKITU_CONFIG_SOURCES[0])}${style.semi}`, style));
  }
  const v = ensureNamedImport(code, body, ["convex/values"], "v", style);
  const declared = declareEnv(code, decl.call, v.local, style);
  if (declared.edit) {
    if (v.edit) edits.push(v.edit);
    edits.push(declared.edit);
  }
  if (declared.added.length) notes.push(`declared ${declared.added.join(", ")} in defineApp({ env })`);
  const uses = memberCallStatements(body, decl.name, "use");
  const anchor = uses.length ? uses[uses.length - 1] : decl.stmt;
  edits.push(insertStatementAfter(code, anchor, useStatement(decl.name, lakitu, style), style));
  notes.push(`added ${decl.name}.use(${lakitu}, { httpPrefix: "${HTTP_PREFIX}", env })`);
  const out = applyEdits(code, edits);
  parseTs(out); // never hand back code that does not parse
  return { code: out, notes };
}

function declareEnv(code: string, call: AstNode, v: string, style: Style): { edit?: Edit; added: string[] } {
  const entries = (keys: readonly string[]) => keys.map((k) => `${k}: ${v}.optional(${v}.string())`);
  const args = call.arguments as AstNode[];
  if (args.length === 0) {
    const base = "";
    const text = block(`{\n  env: {\n${entries(COMPONENT_ENV_KEYS).map((e) => `    ${e},`).join("\n")}\n  },\n}`, base, style);
    return { edit: { at: call.end - 1, text: reindent(text, code, call, style) }, added: [...COMPONENT_ENV_KEYS] };
  }
  const options = args[0];
  if (options.type !== "ObjectExpression") {
    throw new ManualStepError("defineApp(...) is not called with an object literal, so its env cannot be extended", envSnippet(v, style));
  }
  const envProp = (options.properties as AstNode[]).find((p) => keyName(p) === "env");
  if (!envProp) {
    const env = `env: {\n${entries(COMPONENT_ENV_KEYS).map((e) => `  ${e},`).join("\n")}\n}`;
    return { edit: addObjectMembers(code, options, [env], style), added: [...COMPONENT_ENV_KEYS] };
  }
  const envObj = envProp.value as AstNode;
  if (envObj.type !== "ObjectExpression") {
    throw new ManualStepError("defineApp({ env }) is not an object literal, so Lakitu's keys cannot be added to it", envSnippet(v, style));
  }
  const have = new Set((envObj.properties as AstNode[]).map(keyName));
  const missing = COMPONENT_ENV_KEYS.filter((k) => !have.has(k));
  if (!missing.length) return { added: [] };
  return { edit: addObjectMembers(code, envObj, entries(missing), style), added: missing };
}

/** Indents the lines after the first of an inserted block to the line the call sits on. */
function reindent(text: string, code: string, node: AstNode, style: Style): string {
  const start = code.lastIndexOf("\n", node.start - 1) + 1;
  const base = /^[ \t]*/.exec(code.slice(start))![0];
  return text.split(style.eol).join(style.eol + base);
}

function isUseOf(stmt: AstNode, name: string): boolean {
  const first = (stmt.expression as AstNode).arguments[0] as AstNode | undefined;
  return first?.type === "Identifier" && first.name === name;
}

function topLevelNames(body: AstNode[]): Set<string> {
  const names = new Set<string>();
  for (const n of body) {
    if (n.type === "ImportDeclaration") for (const s of n.specifiers as AstNode[]) names.add(s.local.name);
    const decl = n.type === "ExportNamedDeclaration" ? n.declaration : n;
    if (decl?.type === "VariableDeclaration") for (const d of decl.declarations as AstNode[]) if (d.id.type === "Identifier") names.add(d.id.name);
    if ((decl?.type === "FunctionDeclaration" || decl?.type === "ClassDeclaration") && decl.id) names.add(decl.id.name);
  }
  return names;
}

const q = (style: Style, s: string) => `${style.quote}${s}${style.quote}`;

export function useStatement(app: string, lakitu: string, style: Style): string {
  const env = COMPONENT_ENV_KEYS.map((k) => `    ${k}: ${app}.env.${k},`).join("\n");
  return `${app}.use(${lakitu}, {\n  httpPrefix: ${q(style, HTTP_PREFIX)},\n  env: {\n${env}\n  },\n})${style.semi}`;
}

function snippetImports(style: Style): string {
  return `import { v } from ${q(style, "convex/values")}${style.semi}\nimport lakitu from ${q(style, LAKITU_CONFIG_SOURCES[0])}${style.semi}\n\n${envSnippet("v", style)}`;
}

function envSnippet(v: string, style: Style): string {
  const entries = COMPONENT_ENV_KEYS.map((k) => `    ${k}: ${v}.optional(${v}.string()),`).join("\n");
  return `const app = defineApp({\n  env: {\n${entries}\n  },\n})${style.semi}`;
}
