/**
 * JSON Schema checks for deliverables (`DeliverableChecks.jsonSchema`) and gateway KSA parameters.
 *
 * Validation is `@cfworker/json-schema` (no `eval`/`new Function`, so it runs in Convex's default V8
 * runtime; drafts 4, 6/7, 2019-09 and 2020-12). This module adds what Lakitu needs around it:
 *
 * - **Declaration checks** (`compileSchema`/`parseSchema`/`schemaProblems`): the library trusts its
 *   schema (a malformed keyword value makes it throw or silently pass), so every keyword it implements
 *   is checked here first and reported with its location, e.g. `#/properties/a/minItems: must be a
 *   non-negative integer, got -1`. Also refused: `$ref`s that do not resolve inside the schema (no
 *   remote references), reference cycles that never descend into the value (they would recurse
 *   forever), patterns that do not compile as Unicode regular expressions, the few keywords the
 *   library does not implement (`UNSUPPORTED_KEYWORDS`), and schemas deeper than `MAX_SCHEMA_DEPTH`
 *   or with more than `MAX_SCHEMA_NODES` sub-schemas.
 * - **Lakitu's error wording**: the library's output units are turned into one message per problem,
 *   at the JSON pointer of the offending value, e.g. `/items/2/price: expected number, got string`.
 *   Wrapper units (properties, items, `$ref`, allOf...) are dropped; an `anyOf`/`oneOf` that fails
 *   becomes one message listing why each alternative failed; when a value has the wrong type, only the
 *   type is reported for that schema.
 *
 * The dialect comes from the root `$schema` (draft-04, draft-06, draft-07, 2019-09 or 2020-12) and
 * defaults to 2020-12. Unknown keywords are annotations and are ignored, as are unknown `format`s;
 * known formats (date, date-time, time, duration, email, hostname, ipv4, ipv6, uri, uri-reference,
 * uri-template, url, uuid, regex, json-pointer, relative-json-pointer) are asserted, "uri" as a URL
 * that `new URL` parses (see `URI_FORMAT`).
 *
 * Use: `compileSchema(obj)` or `parseSchema(text)` once (returns the problems or a compiled schema),
 * then `validateWithSchema(compiled, value)`.
 */
import { dereference, format as formats, validate as validateUnits, type OutputUnit, type Schema, type SchemaDraft } from "@cfworker/json-schema";
import { compileRegex } from "./regexCheck.js";
import { withLinearRegExp } from "./linearRegExp.js";

export const JSON_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
export type JsonTypeName = (typeof JSON_TYPES)[number];

/** How the declaration check reads each keyword's value (keywords not listed here are annotations). */
type KeywordKind =
  | "schema"
  | "items"
  | "schemaArray"
  | "schemaMap"
  | "patternMap"
  | "dependencies"
  | "requiredMap"
  | "nonNegInt"
  | "number"
  | "exclusive"
  | "positive"
  | "boolean"
  | "names"
  | "type"
  | "enum"
  | "any"
  | "pattern"
  | "string"
  | "ref"
  | "recursiveRef";

const KEYWORDS: Record<string, KeywordKind> = {
  type: "type",
  enum: "enum",
  const: "any",
  // objects
  properties: "schemaMap",
  patternProperties: "patternMap",
  additionalProperties: "schema",
  unevaluatedProperties: "schema",
  required: "names",
  minProperties: "nonNegInt",
  maxProperties: "nonNegInt",
  propertyNames: "schema",
  dependentRequired: "requiredMap",
  dependentSchemas: "schemaMap",
  dependencies: "dependencies",
  // arrays
  items: "items",
  prefixItems: "schemaArray",
  additionalItems: "schema",
  unevaluatedItems: "schema",
  contains: "schema",
  minContains: "nonNegInt",
  maxContains: "nonNegInt",
  minItems: "nonNegInt",
  maxItems: "nonNegInt",
  uniqueItems: "boolean",
  // numbers
  minimum: "number",
  maximum: "number",
  exclusiveMinimum: "exclusive",
  exclusiveMaximum: "exclusive",
  multipleOf: "positive",
  // strings
  minLength: "nonNegInt",
  maxLength: "nonNegInt",
  pattern: "pattern",
  format: "string",
  // composition and references
  allOf: "schemaArray",
  anyOf: "schemaArray",
  oneOf: "schemaArray",
  not: "schema",
  if: "schema",
  then: "schema",
  else: "schema",
  $ref: "ref",
  $recursiveRef: "recursiveRef",
  $recursiveAnchor: "boolean",
  $defs: "schemaMap",
  definitions: "schemaMap",
  $id: "string",
  $anchor: "string",
};

/** Every keyword that constrains a value and is checked (everything else is an annotation). */
export const SUPPORTED_KEYWORDS = Object.keys(KEYWORDS).filter((k) => !["$id", "$anchor", "$defs", "definitions", "$recursiveAnchor"].includes(k));

/**
 * Keywords rejected at declaration time: the validator does not implement them, and ignoring them
 * would make a user believe a constraint was enforced.
 */
export const UNSUPPORTED_KEYWORDS = ["$dynamicRef"] as const;

const UNSUPPORTED = new Set<string>(UNSUPPORTED_KEYWORDS);
const TYPE_NAMES = new Set<string>(JSON_TYPES);
/** Deeper schemas are refused (keeps the checks' and the validator's recursion bounded). */
export const MAX_SCHEMA_DEPTH = 64;
/** Schemas with more sub-schemas than this are refused (keeps compiling and validating cheap). */
export const MAX_SCHEMA_NODES = 10_000;
/** Default cap on the number of validation errors collected. */
export const DEFAULT_MAX_ERRORS = 20;
/**
 * Values with more JSON nodes than this are checked in the library's short-circuit mode: each object
 * or array reports its first failing member only, so a huge wrong document cannot make the validator
 * build hundreds of thousands of error records before the first `DEFAULT_MAX_ERRORS` are kept.
 */
export const FULL_REPORT_MAX_NODES = 10_000;

/**
 * `format: "uri"` is checked as a URL that WHATWG `URL` parses (what `fetch` and zod's `z.url()`
 * accept, IRIs included), not with RFC 3986's grammar, which refuses e.g.
 * "https://de.wikipedia.org/wiki/Köln" that the sandbox's own zod check let through. The checked copy
 * of a schema names this format instead of "uri" (the library's own "uri" entry is left as it is).
 */
const URI_FORMAT = "lakitu-uri";
formats[URI_FORMAT] = (s: string) => {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
};

/** `$schema` URIs and the draft they select (the 2020-12 default applies when `$schema` is absent). */
const DIALECTS: Array<[RegExp, SchemaDraft]> = [
  [/^https?:\/\/json-schema\.org\/draft-04\/schema#?$/, "4"],
  [/^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/, "7"],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, "2019-09"],
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, "2020-12"],
];
const DEFAULT_DRAFT: SchemaDraft = "2020-12";

/** A schema that passed declaration checks. Opaque: only `validateWithSchema` reads it. */
export interface CompiledSchema {
  readonly kind: "lakitu.jsonSchema";
  /** @internal the checked copy of the schema, indexed by `dereference` */
  readonly root: Schema;
  /** @internal */
  readonly lookup: Record<string, Schema | boolean>;
  /** @internal */
  readonly draft: SchemaDraft;
}

export type CompileResult = { ok: true; schema: CompiledSchema } | { ok: false; problems: string[] };

export interface SchemaValidationError {
  /** JSON pointer of the offending value inside the instance; "" is the root. */
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;

function isPlainObject(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

function pointerToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function show(value: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** JSON type name of a value as reported in errors (integers are reported as "number"). */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  if (t === "string" || t === "boolean" || t === "object") return t;
  if (t === "number") return Number.isFinite(value as number) ? "number" : "non-finite number";
  return t;
}

// ---------------------------------------------------------------------------------------------
// Declaration checks

/**
 * A `false` sub-schema is replaced by one of these (`{ not: {} }`, equivalent) before validation: the
 * library reports `false` with a wrong keyword location, and we want to say "additionalProperties is
 * false" rather than "matched the not schema".
 */
const FALSE_SCHEMAS = new WeakSet<object>();

function falseSchema(): Obj {
  const s = { not: {} };
  FALSE_SCHEMAS.add(s);
  return s;
}

interface DeclarationWalk {
  draft: SchemaDraft;
  problems: string[];
  nodes: number;
  /** Schema objects checked, with their location (`#/properties/a`). */
  at: Map<object, string>;
  refs: Array<{ node: Obj; at: string }>;
}

/** Checks `holder[key]` as a schema; a `false` there is replaced (see `FALSE_SCHEMAS`). */
function checkSchemaAt(holder: Obj | unknown[], key: string | number, at: string, depth: number, w: DeclarationWalk): void {
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

/** Lower/upper bound pairs that contradict each other when the lower is greater. */
const BOUNDS = [
  ["minItems", "maxItems"],
  ["minLength", "maxLength"],
  ["minimum", "maximum"],
  ["minProperties", "maxProperties"],
  ["minContains", "maxContains"],
] as const;

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

function draftOf(root: Obj): SchemaDraft | string {
  const uri = root.$schema;
  if (uri === undefined) return DEFAULT_DRAFT;
  if (typeof uri === "string") for (const [re, draft] of DIALECTS) if (re.test(uri)) return draft;
  return (
    `#/$schema: unknown JSON Schema dialect ${show(uri)}; use "https://json-schema.org/draft/2020-12/schema" (the default), ` +
    `".../draft/2019-09/schema", "http://json-schema.org/draft-07/schema#", draft-06 or draft-04`
  );
}

/** The in-place sub-schemas of a node: the ones applied to the same value (a cycle of these never ends). */
function inPlace(node: Obj, draft: SchemaDraft, root: Schema, lookup: Record<string, Schema | boolean>): unknown[] {
  const out: unknown[] = [];
  if (typeof node.$ref === "string") {
    out.push(lookup[(node as Schema).__absolute_ref__ ?? node.$ref]);
    if (draft === "4" || draft === "7") return out; // siblings of $ref are ignored in these drafts
  }
  if (node.$recursiveRef === "#") out.push(root);
  for (const k of ["allOf", "anyOf", "oneOf"]) if (Array.isArray(node[k])) out.push(...(node[k] as unknown[]));
  for (const k of ["not", "if", "then", "else"]) if (k in node) out.push(node[k]);
  for (const k of ["dependentSchemas", "dependencies"]) if (isPlainObject(node[k])) out.push(...Object.values(node[k] as Obj));
  return out.filter(isPlainObject);
}

/** A reference cycle through in-place sub-schemas only (it would recurse without consuming the value). */
function findCycle(start: Obj, draft: SchemaDraft, root: Schema, lookup: Record<string, Schema | boolean>, done: Set<object>): Obj[] | undefined {
  // Iterative DFS (three colours: not in `done` and not on the path, on the path, done).
  const path: Obj[] = [];
  const onPath = new Set<object>();
  const stack: Array<{ node: Obj; next: unknown[] }> = [];
  const enter = (n: Obj) => {
    path.push(n);
    onPath.add(n);
    stack.push({ node: n, next: inPlace(n, draft, root, lookup) });
  };
  enter(start);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const child = top.next.pop() as Obj | undefined;
    if (child === undefined) {
      stack.pop();
      path.pop();
      onPath.delete(top.node);
      done.add(top.node);
      continue;
    }
    if (onPath.has(child)) return [...path.slice(path.indexOf(child)), child];
    if (!done.has(child)) enter(child);
  }
  return undefined;
}

/** Checks a schema (already parsed) at declaration time. The top level must be an object. */
export function compileSchema(schema: unknown): CompileResult {
  if (!isPlainObject(schema)) {
    return { ok: false, problems: [`the schema must be a JSON object, got ${jsonTypeOf(schema)}`] };
  }
  // A private copy: the checks replace `false` sub-schemas and `dereference` annotates the objects.
  let root: Obj;
  try {
    root = JSON.parse(JSON.stringify(schema)) as Obj;
  } catch (e) {
    return { ok: false, problems: [`the schema is not plain JSON (${messageOf(e)})`] };
  }
  const draft = draftOf(root);
  if (!["4", "7", "2019-09", "2020-12"].includes(draft)) return { ok: false, problems: [draft] };
  const w: DeclarationWalk = { draft: draft as SchemaDraft, problems: [], nodes: 0, at: new Map(), refs: [] };
  const holder = { root };
  checkSchemaAt(holder, "root", "#", 0, w);
  if (w.problems.length > 0) return { ok: false, problems: w.problems };

  let lookup: Record<string, Schema | boolean>;
  try {
    lookup = dereference(root as Schema);
  } catch (e) {
    return { ok: false, problems: [`the schema's identifiers do not resolve (${messageOf(e)}); check its "$id" and "$anchor" values`] };
  }
  for (const { node, at } of w.refs) {
    const target = lookup[(node as Schema).__absolute_ref__ ?? (node.$ref as string)];
    if (target === undefined) {
      w.problems.push(
        `${at}/$ref: cannot resolve ${show(node.$ref)}; only references inside this schema are supported ` +
          `(e.g. "#/$defs/name", "#/definitions/name", "#/properties/name" or an "$anchor")`,
      );
    } else if (target !== true && !w.at.has(target as object)) {
      w.problems.push(`${at}/$ref: ${show(node.$ref)} does not point at a schema; put shared schemas under "$defs" and refer to "#/$defs/name"`);
    }
  }
  if (w.problems.length > 0) return { ok: false, problems: w.problems };

  const done = new Set<object>();
  for (const node of w.at.keys()) {
    if (done.has(node)) continue;
    const cycle = findCycle(node as Obj, w.draft, root as Schema, lookup, done);
    if (cycle) {
      const where = cycle.map((n) => w.at.get(n) ?? "?");
      return {
        ok: false,
        problems: [
          `${where[0]}: reference cycle ${where.join(" → ")} never descends into a property or item, so checking it would never end; ` +
            `a recursive schema must recurse through "properties", "items" or similar`,
        ],
      };
    }
  }
  return { ok: true, schema: { kind: "lakitu.jsonSchema", root: root as Schema, lookup, draft: w.draft } };
}

/** Same as `compileSchema`, from JSON text (how `DeliverableChecks.jsonSchema` stores it). */
export function parseSchema(text: string): CompileResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [`the schema is not valid JSON (${messageOf(e)})`] };
  }
  return compileSchema(parsed);
}

/** Declaration-time problems of a schema ([] = usable). */
export function schemaProblems(schema: unknown): string[] {
  const r = compileSchema(schema);
  return r.ok ? [] : r.problems;
}

/** Structural equality of JSON values (for `enum` and `const`). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(bo, k) || !jsonEqual(ao[k], bo[k])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Validation and Lakitu's wording of the library's output

/** `#/a~1b/0` (URI-encoded pointer tokens, as the library writes locations) → ["a/b", "0"]. */
function tokens(location: string): string[] {
  const body = location.startsWith("#") ? location.slice(1) : location;
  if (body === "") return [];
  return body
    .slice(1)
    .split("/")
    .map((t) => {
      let s = t;
      try {
        s = decodeURIComponent(t);
      } catch {
        // keep the raw token
      }
      return s.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

/** The instance path Lakitu reports: a JSON pointer without the URI encoding ("" is the root). */
function instancePath(location: string): string {
  return tokens(location)
    .map((t) => `/${pointerToken(t)}`)
    .join("");
}

function parentLocation(location: string): string {
  const i = location.lastIndexOf("/");
  return i < 0 ? location : location.slice(0, i);
}

function lastToken(location: string): string {
  const t = tokens(location);
  return t[t.length - 1] ?? "";
}

/** An error with what a `type` failure was about (so an anyOf of types can be said as one type error). */
type Described = SchemaValidationError & { types?: string[]; got?: string };

interface Reader {
  compiled: CompiledSchema;
  /** The instance value at a library instance location. */
  valueAt(location: string): unknown;
}

/** The schema value at a library keyword location (which follows `$ref`s through the `$ref` token). */
function schemaAt(c: CompiledSchema, location: string): unknown {
  let cur: unknown = c.root;
  for (const t of tokens(location)) {
    if (cur === null || typeof cur !== "object") return undefined;
    const o = cur as Schema;
    if (t === "$ref" && typeof o.$ref === "string") cur = c.lookup[o.__absolute_ref__ ?? o.$ref];
    else if (t === "$recursiveRef") return undefined;
    else cur = (o as Record<string, unknown>)[t];
  }
  return cur;
}

function valueIn(root: unknown, location: string): unknown {
  let cur = root;
  for (const t of tokens(location)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[t];
  }
  return cur;
}

/** Units that only say "a sub-schema failed"; the sub-schema's own units follow them. */
const WRAPPERS = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "$ref",
  "$recursiveRef",
  "allOf",
  "if",
  "dependentSchemas",
]);

const isUnder = (u: OutputUnit, location: string) => u.keywordLocation.startsWith(`${location}/`);

/** `#/a/b/c` → ["#/a/b/c", "#/a/b", "#/a", "#"]. */
function selfAndAncestors(location: string): string[] {
  const out = [location];
  for (let i = location.lastIndexOf("/"); i > 0; i = location.lastIndexOf("/", i - 1)) out.push(location.slice(0, i));
  return out;
}

/**
 * Drops units that would be noise: everything else a schema says about a value of the wrong type,
 * and the per-item failures behind a `contains`/`minContains`/`maxContains` verdict. Linear in the
 * number of units (times the nesting depth): a large array of wrong values must stay cheap.
 */
function denoise(units: OutputUnit[]): OutputUnit[] {
  // schema node location → instance locations whose value has the wrong type for that node
  const wrongType = new Map<string, Set<string>>();
  const containsAt = new Set<string>();
  for (const u of units) {
    if (u.keyword === "type") {
      const node = parentLocation(u.keywordLocation);
      let set = wrongType.get(node);
      if (!set) wrongType.set(node, (set = new Set()));
      set.add(u.instanceLocation);
    } else if (u.keyword === "contains" || u.keyword === "minContains" || u.keyword === "maxContains") {
      containsAt.add(`${parentLocation(u.keywordLocation)}/contains`);
    }
  }
  if (wrongType.size === 0 && containsAt.size === 0) return units;
  const noise = (u: OutputUnit): boolean => {
    const schemaPath = selfAndAncestors(u.keywordLocation);
    for (let i = 1; i < schemaPath.length; i++) {
      const above = schemaPath[i];
      if (containsAt.has(above)) return true;
      // schemaPath[1] is the unit's own schema node: its type unit stays, its other units go.
      const wrong = i === 1 && u.keyword === "type" ? undefined : wrongType.get(above);
      if (wrong && selfAndAncestors(u.instanceLocation).some((loc) => wrong.has(loc))) return true;
    }
    return false;
  };
  return units.filter((u) => !noise(u));
}

/** The units after `units[i]` that belong to it (their keyword location is under its own). */
function childrenEnd(units: OutputUnit[], i: number): number {
  let j = i + 1;
  while (j < units.length && isUnder(units[j], units[i].keywordLocation)) j++;
  return j;
}

function typeList(t: unknown): string[] {
  return Array.isArray(t) ? t.map(String) : [String(t)];
}

function describeAll(r: Reader, units: OutputUnit[], limit = Infinity): Described[] {
  const out: Described[] = [];
  const seen = new Set<string>();
  const push = (e: Described) => {
    const key = `${e.path}\u0000${e.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(e);
    }
  };
  let i = 0;
  while (i < units.length && out.length < limit) {
    const u = units[i];
    const path = instancePath(u.instanceLocation);
    if (u.keyword === "anyOf" || u.keyword === "oneOf" || u.keyword === "propertyNames") {
      const end = childrenEnd(units, i);
      push({ path, ...describeGroup(r, u, units.slice(i + 1, end)) });
      i = end;
      continue;
    }
    i++;
    if (WRAPPERS.has(u.keyword)) continue;
    if (u.keyword === "dependencies" && !/^Instance has ".*" but does not have ".*"\.$/s.test(u.error)) continue; // schema form: a wrapper
    const e = describeOne(r, u, path);
    if (e) push(e);
  }
  return out;
}

/** One message for an `anyOf`/`oneOf`/`propertyNames` failure and the units of its sub-schemas. */
function describeGroup(r: Reader, u: OutputUnit, children: OutputUnit[]): { message: string; types?: string[]; got?: string } {
  const path = instancePath(u.instanceLocation);
  if (u.keyword === "propertyNames") {
    const key = /^Property name "(.*)" does not match schema\.$/s.exec(u.error)?.[1] ?? lastToken(children[0]?.instanceLocation ?? "");
    const sub: Reader = { compiled: r.compiled, valueAt: (loc) => (children.some((c) => c.instanceLocation === loc) ? key : r.valueAt(loc)) };
    const why = describeAll(sub, children).map((e) => e.message);
    return { message: `property name ${show(key)} is not allowed${why.length ? `: ${why.slice(0, 3).join("; ")}` : " by propertyNames"}` };
  }
  const alternatives = schemaAt(r.compiled, u.keywordLocation);
  const n = Array.isArray(alternatives) ? alternatives.length : 0;
  const failed: Array<{ index: number; errors: Described[] }> = [];
  for (let b = 0; b < n; b++) {
    const own = children.filter((c) => isUnder(c, `${u.keywordLocation}/${b}`));
    if (own.length) failed.push({ index: b, errors: describeAll(r, own) });
  }
  if (u.keyword === "oneOf" && failed.length < n) {
    const matched = Array.from({ length: n }, (_, b) => b).filter((b) => !failed.some((f) => f.index === b));
    return { message: `matches ${matched.length} of the oneOf alternatives (${matched.map((b) => `[${b}]`).join(", ")}); it must match exactly one` };
  }
  // Every alternative only failed on the type: say it the way a `type` array would.
  const typeOnly = failed.map((f) => (f.errors.length === 1 && f.errors[0].path === path ? f.errors[0] : undefined));
  if (typeOnly.length > 0 && typeOnly.every((e) => e?.types && e.got === typeOnly[0]!.got)) {
    const types = [...new Set(typeOnly.flatMap((e) => e!.types!))];
    const got = typeOnly[0]!.got!;
    return { message: `expected ${types.join(" or ")}, got ${got}`, types, got };
  }
  const reasons = failed.map(({ index, errors }) => {
    const shown = errors.slice(0, 3).map((e) => (e.path === path ? e.message : `${e.path || "/"}: ${e.message}`));
    const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : "";
    return `[${index}] ${shown.join(", ")}${more}`;
  });
  return { message: `matches none of the ${n} ${u.keyword} alternatives: ${reasons.join("; ")}` };
}

function describeOne(r: Reader, u: OutputUnit, path: string): Described | undefined {
  const node = schemaAt(r.compiled, parentLocation(u.keywordLocation)) as Obj | undefined;
  const kw = node && typeof node === "object" ? node[u.keyword] : undefined;
  const value = r.valueAt(u.instanceLocation);
  const at = (message: string) => ({ path, message });
  const num = (re: RegExp) => re.exec(u.error)?.[1];
  switch (u.keyword) {
    case "type": {
      const types = typeList(kw);
      const got = jsonTypeOf(value);
      return { path, message: `expected ${types.join(" or ")}, got ${got}`, types, got };
    }
    case "enum":
      return at(`expected one of ${show(kw, 120)}, got ${show(value)}`);
    case "const":
      return at(`expected ${show(kw)}, got ${show(value)}`);
    case "minLength":
    case "maxLength": {
      const len = typeof value === "string" ? [...value].length : 0;
      return at(u.keyword === "minLength" ? `string is ${len} characters, need at least ${kw}` : `string is ${len} characters, allowed at most ${kw}`);
    }
    case "pattern":
      return at(`${show(value)} does not match pattern /${kw}/`);
    case "format":
      return at(`${show(value)} does not match format ${show(kw === URI_FORMAT ? "uri" : kw)}`);
    case "minimum":
      return at(node?.exclusiveMinimum === true ? `${value} is not greater than the exclusive minimum ${kw}` : `${value} is less than the minimum ${kw}`);
    case "maximum":
      return at(node?.exclusiveMaximum === true ? `${value} is not less than the exclusive maximum ${kw}` : `${value} is greater than the maximum ${kw}`);
    case "exclusiveMinimum":
      return at(`${value} is not greater than the exclusive minimum ${kw}`);
    case "exclusiveMaximum":
      return at(`${value} is not less than the exclusive maximum ${kw}`);
    case "multipleOf":
      return at(`${value} is not a multiple of ${kw}`);
    case "minItems":
    case "maxItems": {
      const n = Array.isArray(value) ? value.length : 0;
      return at(u.keyword === "minItems" ? `array has ${n} items, need at least ${kw}` : `array has ${n} items, allowed at most ${kw}`);
    }
    case "uniqueItems": {
      const m = /indexes (\d+) and (\d+)/.exec(u.error);
      return at(m ? `items ${m[1]} and ${m[2]} are equal, but uniqueItems is true` : "items are not unique, but uniqueItems is true");
    }
    case "contains":
      return at(`no item matches the "contains" schema`);
    case "minContains": {
      const found = num(/Only (\d+) items/);
      return at(found !== undefined ? `only ${found} items match the "contains" schema, need at least ${kw}` : `array has ${Array.isArray(value) ? value.length : 0} items, need at least ${kw} that match the "contains" schema`);
    }
    case "maxContains":
      return at(`${num(/(\d+) items were found/) ?? "more"} items match the "contains" schema, allowed at most ${kw}`);
    case "required": {
      const key = /^Instance does not have required property "(.*)"\.$/s.exec(u.error)?.[1];
      return at(`missing required property ${show(key ?? "?")}`);
    }
    case "minProperties":
    case "maxProperties": {
      const n = isPlainObject(value) ? Object.keys(value).length : 0;
      return at(u.keyword === "minProperties" ? `object has ${n} properties, need at least ${kw}` : `object has ${n} properties, allowed at most ${kw}`);
    }
    case "dependentRequired":
    case "dependencies": {
      const m = /^Instance has "(.*)" but does not have "(.*)"\.$/s.exec(u.error);
      return at(m ? `property ${show(m[1])} requires property ${show(m[2])}, which is missing` : u.error);
    }
    case "not": {
      const holder = parentLocation(u.keywordLocation);
      if (node && FALSE_SCHEMAS.has(node)) {
        const where = lastToken(holder);
        if (where === "additionalProperties" || where === "unevaluatedProperties") {
          return { path: instancePath(parentLocation(u.instanceLocation)), message: `unexpected property ${show(lastToken(u.instanceLocation))} (${where} is false)` };
        }
        return at("no value is allowed here (schema is false)");
      }
      return at(`matches the schema under "not", which is not allowed`);
    }
    case "false":
      return at("no value is allowed here (schema is false)");
    default:
      return at(u.error);
  }
}

/** Whether `value` has fewer than `limit` JSON nodes (stops counting at the limit). */
function fewerNodesThan(value: unknown, limit: number): boolean {
  const stack: unknown[] = [value];
  let n = 0;
  while (stack.length) {
    const v = stack.pop();
    if (++n >= limit) return false;
    if (Array.isArray(v)) stack.push(...v.slice(0, limit));
    else if (v !== null && typeof v === "object") stack.push(...Object.values(v).slice(0, limit));
  }
  return true;
}

/** Validates a parsed JSON value. Returns at most `maxErrors` errors, in document order. */
export function validateWithSchema(
  schema: CompiledSchema,
  value: unknown,
  options: { maxErrors?: number } = {},
): SchemaValidationError[] {
  const max = Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS);
  let units: OutputUnit[];
  try {
    const shortCircuit = !fewerNodesThan(value, FULL_REPORT_MAX_NODES);
    // Patterns are matched against agent-written values: on the linear-time engine, never backtracking.
    const result = withLinearRegExp(() => validateUnits(value, schema.root, schema.draft, schema.lookup, shortCircuit));
    if (result.valid) return [];
    units = result.errors;
  } catch (e) {
    const message =
      e instanceof RangeError
        ? "the value is nested too deeply to be checked against this schema"
        : `the value could not be checked against the schema (${messageOf(e)})`;
    return [{ path: "", message }];
  }
  const reader: Reader = { compiled: schema, valueAt: (loc) => valueIn(value, loc) };
  const errors = describeAll(reader, denoise(units), max);
  // The library only reports failures, so a non-empty result always has at least one message.
  if (errors.length === 0) return [{ path: "", message: "does not match the schema" }];
  return errors.slice(0, max).map(({ path, message }) => ({ path, message }));
}

/** `"/items/2/price: expected number, got string"`; the root is shown as `/`. */
export function formatSchemaError(e: SchemaValidationError): string {
  return `${e.path === "" ? "/" : e.path}: ${e.message}`;
}

/**
 * Convenience: compiles `schema` (object or JSON text) and validates `value`, returning formatted
 * errors ([] = valid). Throws an Error listing the problems (e.g. `unsupported keyword "$dynamicRef"`)
 * when the schema itself is not acceptable.
 */
export function validateJson(schema: unknown, value: unknown, options: { maxErrors?: number } = {}): string[] {
  const compiled = typeof schema === "string" ? parseSchema(schema) : compileSchema(schema);
  if (!compiled.ok) throw new Error(`invalid JSON Schema: ${compiled.problems.join("; ")}`);
  return validateWithSchema(compiled.schema, value, options).map(formatSchemaError);
}
