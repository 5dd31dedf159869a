/**
 * The KSA reference the model reads in its prompt, built from registry entries (pure data). No Node
 * and no zod here: the component imports this file in Convex's default runtime.
 */
import type { KsaRegistryEntry } from "./types.js";

type Schema = Record<string, unknown>;

/**
 * A compact markdown reference of the allowed KSAs (registry order; others are left out), with one
 * TypeScript-like signature per function derived from its JSON Schema.
 *
 * @example ksaReference(KSA_REGISTRY, ["file"]) // "## Abilities (KSAs)\n...`file.read({ path: string, maxBytes?: number }) → string`..."
 */
export function ksaReference(entries: readonly KsaRegistryEntry[], allowed: readonly string[]): string {
  const shown = entries.filter((e) => allowed.includes(e.name));
  const lines = ["## Abilities (KSAs)", ""];
  if (shown.length === 0) {
    lines.push("No KSAs are allowed in this stage; plain TypeScript (console.log, computation) still works.");
    return lines.join("\n");
  }
  const names = shown.map((e) => e.name);
  lines.push(
    "Import them in your code. Every function is async (use `await`) and takes a single object argument (or none):",
    "",
    "```ts",
    `import { ${names.join(", ")} } from "lakitu/ksa";`,
    "```",
    "",
    `Only these are allowed in this stage: ${names.join(", ")}. Anything else throws.`,
  );
  for (const e of shown) {
    lines.push("", `### ${e.name}`, "", e.description, "");
    for (const f of e.functions) lines.push(`- \`${signature(e.name, f.name, f.params, f.result)}\`: ${f.description}`);
  }
  return lines.join("\n");
}

/** `file.read({ path: string, maxBytes?: number }) → string` */
export function signature(ksa: string, fn: string, params: unknown, result: unknown): string {
  const p = asSchema(params);
  const hasParams = p && isObject(p.properties) && Object.keys(p.properties).length > 0;
  return `${ksa}.${fn}(${hasParams ? typeOf(p, 0) : ""}) → ${typeOf(result, 0)}`;
}

/** A TypeScript-like rendering of a JSON Schema (the subset zod emits). */
export function typeOf(schema: unknown, depth: number): string {
  if (schema === true || schema === undefined) return "unknown";
  if (schema === false) return "never";
  const s = asSchema(schema);
  if (!s || depth > 6) return "unknown";
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  for (const key of ["anyOf", "oneOf"]) {
    if (Array.isArray(s[key])) return (s[key] as unknown[]).map((x) => typeOf(x, depth + 1)).join(" | ");
  }
  if (Array.isArray(s.type)) return s.type.map((t) => typeOf({ ...s, type: t }, depth)).join(" | ");
  switch (s.type) {
    case "string":
      return "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const item = typeOf(s.items, depth + 1);
      return /[ |]/.test(item) && !item.startsWith("{") ? `Array<${item}>` : `${item}[]`;
    }
    case "object":
      return objectType(s, depth);
    default:
      return "unknown";
  }
}

function objectType(s: Schema, depth: number): string {
  const props = isObject(s.properties) ? s.properties : {};
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const fields = Object.entries(props).map(([k, v]) => `${k}${required.has(k) ? "" : "?"}: ${typeOf(v, depth + 1)}`);
  if (fields.length === 0) {
    return isObject(s.additionalProperties) ? `Record<string, ${typeOf(s.additionalProperties, depth + 1)}>` : "{}";
  }
  return `{ ${fields.join(", ")} }`;
}

function asSchema(x: unknown): Schema | null {
  return isObject(x) ? x : null;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
