/** The declaration walk: every sub-schema and keyword value of a schema checked, with its location. */
import type { SchemaDraft } from "@cfworker/json-schema";
import { compileRegex } from "../regexCheck.js";
import { falseSchema } from "./falseSchemas.js";
import { URI_FORMAT } from "./formats.js";
import { BOUNDS, KEYWORDS, TYPE_NAMES, UNSUPPORTED } from "./keywords.js";
import { MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES } from "./limits.js";
import { isFiniteNumber, isNonNegInt, isPlainObject, JSON_TYPES, jsonTypeOf, messageOf, pointerToken, show, type Obj } from "./values.js";

export interface DeclarationWalk {
  draft: SchemaDraft;
  problems: string[];
  nodes: number;
  /** Schema objects checked, with their location (`#/properties/a`). */
  at: Map<object, string>;
  refs: Array<{ node: Obj; at: string }>;
}

/** Checks `holder[key]` as a schema; a `false` there is replaced (see `FALSE_SCHEMAS`). */
export function checkSchemaAt(holder: Obj | unknown[], key: string | number, at: string, depth: number, w: DeclarationWalk): void {
  const raw = (holder as Record<string | number, unknown>)[key];
  if (raw === true) return;
  if (raw === false) {
    const s = falseSchema();
    (holder as Record<string | number, unknown>)[key] = s;
    w.at.set(s, at);
    return;
  }
  if (!isPlainObject(raw)) {
    w.problems.push(`${at}: a schema must be an object (or true/false), got ${jsonTypeOf(raw)}`);
    return;
  }
  if (depth > MAX_SCHEMA_DEPTH) {
    w.problems.push(`${at}: schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels; flatten it`);
    return;
  }
  if (++w.nodes > MAX_SCHEMA_NODES) {
    if (w.nodes === MAX_SCHEMA_NODES + 1) w.problems.push(`${at}: the schema has more than ${MAX_SCHEMA_NODES} sub-schemas; simplify it`);
    return;
  }
  w.at.set(raw, at);
  checkKeywords(raw, at, depth, w);
}

function checkKeywords(node: Obj, at: string, depth: number, w: DeclarationWalk): void {
  const problem = (k: string, text: string) => w.problems.push(`${at}/${pointerToken(k)}: ${text}`);
  const sub = (holder: Obj | unknown[], key: string | number, subAt: string) => checkSchemaAt(holder, key, subAt, depth + 1, w);

  for (const k of Object.keys(node)) {
    if (UNSUPPORTED.has(k)) {
      w.problems.push(
        `${at}: unsupported keyword "${k}" — Lakitu's JSON Schema checks do not implement it; ` +
          `use "$ref" to a schema under "$defs" instead`,
      );
      continue;
    }
    const kind = KEYWORDS[k];
    if (kind === undefined) continue; // an annotation or an unknown keyword: ignored
    const v = node[k];
    const kAt = `${at}/${pointerToken(k)}`;
    switch (kind) {
      case "schema":
        sub(node, k, kAt);
        break;
      case "items":
        if (Array.isArray(v)) {
          if (w.draft === "2020-12") {
            problem(
              k,
              `tuple form (an array of schemas) is not valid in JSON Schema 2020-12; use "prefixItems" for the leading items ` +
                `and "items" for the rest, or give a single schema for every item`,
            );
          } else {
            v.forEach((_, i) => sub(v, i, `${kAt}/${i}`));
          }
        } else {
          sub(node, k, kAt);
        }
        break;
      case "schemaArray":
        if (!Array.isArray(v) || v.length === 0) problem(k, "must be a non-empty array of schemas");
        else v.forEach((_, i) => sub(v, i, `${kAt}/${i}`));
        break;
      case "schemaMap":
      case "patternMap":
        if (!isPlainObject(v)) {
          problem(k, `must be an object mapping ${k === "patternProperties" ? "patterns" : k === "properties" || k === "dependentSchemas" ? "property names" : "names"} to schemas`);
          break;
        }
        for (const name of Object.keys(v)) {
          const nameAt = `${kAt}/${pointerToken(name)}`;
          if (kind === "patternMap") {
            const err = regexError(name);
            if (err) w.problems.push(`${nameAt}: the property-name pattern does not compile (${err})`);
          }
          sub(v, name, nameAt);
        }
        break;
      case "dependencies":
        if (!isPlainObject(v)) {
          problem(k, "must be an object mapping property names to schemas or to arrays of property names");
          break;
        }
        for (const name of Object.keys(v)) {
          const d = v[name];
          if (Array.isArray(d)) {
            if (d.some((x) => typeof x !== "string")) w.problems.push(`${kAt}/${pointerToken(name)}: must be an array of property names (strings) or a schema`);
          } else sub(v, name, `${kAt}/${pointerToken(name)}`);
        }
        break;
      case "requiredMap":
        if (!isPlainObject(v) || Object.values(v).some((d) => !Array.isArray(d) || d.some((x) => typeof x !== "string"))) {
          problem(k, "must be an object mapping property names to arrays of property names");
        }
        break;
      case "nonNegInt":
        if (!isNonNegInt(v)) problem(k, `must be a non-negative integer, got ${show(v)}`);
        break;
      case "number":
        if (!isFiniteNumber(v)) problem(k, `must be a finite number, got ${show(v)}`);
        break;
      case "exclusive":
        if (w.draft === "4") {
          if (typeof v !== "boolean") problem(k, `must be true or false in draft-04 (it makes ${k === "exclusiveMinimum" ? "minimum" : "maximum"} exclusive), got ${show(v)}`);
        } else if (!isFiniteNumber(v)) {
          problem(
            k,
            `must be a finite number, got ${show(v)}` +
              (typeof v === "boolean" ? ` (a boolean ${k} is draft-04 syntax: give the bound itself, e.g. "${k}": 0)` : ""),
          );
        }
        break;
      case "positive":
        if (!isFiniteNumber(v) || v <= 0) problem(k, `must be a number greater than 0, got ${show(v)}`);
        break;
      case "boolean":
        if (typeof v !== "boolean") problem(k, `must be true or false, got ${show(v)}`);
        break;
      case "names":
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) problem(k, "must be an array of property names (strings)");
        break;
      case "type": {
        const list = typeof v === "string" ? [v] : Array.isArray(v) ? v : null;
        if (!list || list.length === 0) {
          problem(k, "must be a type name or a non-empty array of type names");
          break;
        }
        const bad = list.filter((x) => typeof x !== "string" || !TYPE_NAMES.has(x));
        if (bad.length > 0) problem(k, `unknown type ${bad.map((b) => show(b)).join(", ")}; use one of ${JSON_TYPES.join(", ")}`);
        break;
      }
      case "enum":
        if (!Array.isArray(v) || v.length === 0) problem(k, "must be a non-empty array of allowed values");
        break;
      case "any":
        break;
      case "pattern":
        if (typeof v !== "string") problem(k, "must be a regular expression string");
        else {
          const err = regexError(v);
          if (err) problem(k, `does not compile (${err}); JSON Schema patterns are JavaScript regular expressions with the "u" flag`);
        }
        break;
      case "string":
        if (typeof v !== "string") problem(k, `must be a string, got ${jsonTypeOf(v)}`);
        else if (k === "format" && v === "uri") node.format = URI_FORMAT;
        break;
      case "ref":
        if (typeof v !== "string") problem(k, `must be a URI reference string like "#/$defs/name", got ${jsonTypeOf(v)}`);
        else w.refs.push({ node, at });
        break;
      case "recursiveRef":
        if (v !== "#") problem(k, `only "#" is supported, got ${show(v)}`);
        break;
    }
  }

  for (const [lo, hi] of BOUNDS) {
    const a = node[lo];
    const b = node[hi];
    if (typeof a === "number" && typeof b === "number" && a > b) w.problems.push(`${at}: ${lo} (${a}) is greater than ${hi} (${b}); nothing can pass`);
  }
}

/**
 * JSON Schema patterns are ECMA-262 regular expressions; the validator compiles them with the "u"
 * flag, and runs them on the linear-time engine (RE2: no backreferences or lookaround).
 */
function regexError(source: string): string | undefined {
  try {
    new RegExp(source, "u");
  } catch (e) {
    return messageOf(e);
  }
  const linear = compileRegex(source);
  return linear.ok ? undefined : `on the linear-time engine, the pattern ${linear.problem}`;
}
