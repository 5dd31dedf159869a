/**
 * A small, hand-written JSON Schema subset validator (no ajv: it must run in Convex's default V8
 * runtime, which forbids `eval`/`new Function`).
 *
 * Supported keywords: `type` (one name or an array of names among string, number, integer,
 * boolean, object, array, null), `properties`, `required`, `additionalProperties` (false, true or a
 * schema), `items` (a single schema), `minItems`, `maxItems`, `enum`, `const`, `minLength`,
 * `maxLength` (counted in Unicode code points), `pattern` (unanchored, like JSON Schema),
 * `minimum`, `maximum` (both inclusive). Sub-schemas may also be the boolean schemas `true`/`false`.
 *
 * Annotation keywords and anything else unknown (`title`, `description`, `$schema`, `$id`,
 * `default`, `examples`, `format`, `$defs`, ...) are ignored. Keywords that would *constrain* the
 * value but are not implemented here (`$ref`, `oneOf`, `anyOf`, `allOf`, `not`, `if`/`then`/`else`,
 * `exclusiveMinimum`, `uniqueItems`, `patternProperties`, ...) are rejected when the schema is
 * compiled, so nobody believes a rule was checked when it was not.
 *
 * Use: `compileSchema(obj)` or `parseSchema(text)` once (returns the problems or a compiled
 * schema), then `validateWithSchema(compiled, value)`; errors read like
 * `/items/2/price: expected number, got string`.
 */

export const JSON_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
export type JsonTypeName = (typeof JSON_TYPES)[number];

export const SUPPORTED_KEYWORDS = [
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
] as const;

/**
 * Keywords rejected at declaration time. The first group is the composition/reference family; the
 * rest are assertion keywords of newer drafts that this subset does not implement — silently
 * ignoring them would make a user believe a constraint was enforced.
 */
export const UNSUPPORTED_KEYWORDS = [
  "$ref",
  "$dynamicRef",
  "$recursiveRef",
  "oneOf",
  "anyOf",
  "allOf",
  "not",
  "if",
  "then",
  "else",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "uniqueItems",
  "contains",
  "minContains",
  "maxContains",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "unevaluatedProperties",
  "patternProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
] as const;

const UNSUPPORTED = new Set<string>(UNSUPPORTED_KEYWORDS);
const TYPE_NAMES = new Set<string>(JSON_TYPES);
/** Deeper schemas are refused (keeps compile/validate recursion bounded). */
export const MAX_SCHEMA_DEPTH = 64;
/** Default cap on the number of validation errors collected. */
export const DEFAULT_MAX_ERRORS = 20;

interface SchemaNode {
  /** `true`/`false` boolean schema; undefined for an object schema. */
  bool?: boolean;
  types?: JsonTypeName[];
  properties?: Array<[string, SchemaNode]>;
  required?: string[];
  /** undefined = additional properties allowed. */
  additional?: SchemaNode;
  items?: SchemaNode;
  minItems?: number;
  maxItems?: number;
  enumValues?: unknown[];
  hasConst?: boolean;
  constValue?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: { source: string; re: RegExp };
  minimum?: number;
  maximum?: number;
}

/** A schema that passed declaration checks. Opaque: only `validateWithSchema` reads it. */
export interface CompiledSchema {
  readonly kind: "lakitu.jsonSchema";
  /** @internal */
  readonly root: SchemaNode;
}

export type CompileResult = { ok: true; schema: CompiledSchema } | { ok: false; problems: string[] };

export interface SchemaValidationError {
  /** JSON pointer of the offending value inside the instance; "" is the root. */
  path: string;
  message: string;
}

const SUPPORTED_LIST = SUPPORTED_KEYWORDS.join(", ");

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

function pointerToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function schemaLoc(path: string): string {
  return `#${path}`;
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

/** JSON type name of a value as this subset sees it (integers are reported as "number"). */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  if (t === "string" || t === "boolean" || t === "object") return t;
  if (t === "number") return Number.isFinite(value as number) ? "number" : "non-finite number";
  return t;
}

function compileNode(raw: unknown, path: string, depth: number, problems: string[]): SchemaNode {
  if (typeof raw === "boolean") return { bool: raw };
  if (!isPlainObject(raw)) {
    problems.push(`${schemaLoc(path)}: a schema must be an object (or true/false), got ${jsonTypeOf(raw)}`);
    return { bool: true };
  }
  if (depth > MAX_SCHEMA_DEPTH) {
    problems.push(`${schemaLoc(path)}: schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels; flatten it`);
    return { bool: true };
  }
  const node: SchemaNode = {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(raw, k);

  for (const key of Object.keys(raw)) {
    if (UNSUPPORTED.has(key)) {
      problems.push(
        `${schemaLoc(path)}: unsupported keyword "${key}" — Lakitu's JSON Schema subset does not check it; ` +
          `remove it or express the rule with the supported keywords (${SUPPORTED_LIST})`,
      );
    }
  }

  if (has("type")) {
    const t = raw.type;
    const list = typeof t === "string" ? [t] : Array.isArray(t) ? t : null;
    if (!list || list.length === 0) {
      problems.push(`${schemaLoc(path)}/type: must be a type name or a non-empty array of type names`);
    } else {
      const bad = list.filter((x) => typeof x !== "string" || !TYPE_NAMES.has(x));
      if (bad.length > 0) {
        problems.push(
          `${schemaLoc(path)}/type: unknown type ${bad.map((b) => show(b)).join(", ")}; use one of ${JSON_TYPES.join(", ")}`,
        );
      } else {
        node.types = list as JsonTypeName[];
      }
    }
  }

  if (has("properties")) {
    const p = raw.properties;
    if (!isPlainObject(p)) {
      problems.push(`${schemaLoc(path)}/properties: must be an object mapping property names to schemas`);
    } else {
      node.properties = Object.keys(p).map((k) => [
        k,
        compileNode(p[k], `${path}/properties/${pointerToken(k)}`, depth + 1, problems),
      ]);
    }
  }

  if (has("required")) {
    const r = raw.required;
    if (!Array.isArray(r) || r.some((x) => typeof x !== "string")) {
      problems.push(`${schemaLoc(path)}/required: must be an array of property names (strings)`);
    } else {
      node.required = r as string[];
    }
  }

  if (has("additionalProperties")) {
    const a = raw.additionalProperties;
    if (a === true) {
      // explicit default: nothing to check
    } else if (a === false || isPlainObject(a)) {
      node.additional = compileNode(a, `${path}/additionalProperties`, depth + 1, problems);
    } else {
      problems.push(`${schemaLoc(path)}/additionalProperties: must be true, false or a schema object`);
    }
  }

  if (has("items")) {
    const it = raw.items;
    if (Array.isArray(it)) {
      problems.push(
        `${schemaLoc(path)}/items: tuple form (an array of schemas) is not supported; give a single schema for every item`,
      );
    } else {
      node.items = compileNode(it, `${path}/items`, depth + 1, problems);
    }
  }

  for (const k of ["minItems", "maxItems", "minLength", "maxLength"] as const) {
    if (!has(k)) continue;
    const val = raw[k];
    if (!isNonNegInt(val)) {
      problems.push(`${schemaLoc(path)}/${k}: must be a non-negative integer, got ${show(val)}`);
    } else {
      node[k] = val;
    }
  }
  if (node.minItems !== undefined && node.maxItems !== undefined && node.minItems > node.maxItems) {
    problems.push(`${schemaLoc(path)}: minItems (${node.minItems}) is greater than maxItems (${node.maxItems}); nothing can pass`);
  }
  if (node.minLength !== undefined && node.maxLength !== undefined && node.minLength > node.maxLength) {
    problems.push(
      `${schemaLoc(path)}: minLength (${node.minLength}) is greater than maxLength (${node.maxLength}); nothing can pass`,
    );
  }

  for (const k of ["minimum", "maximum"] as const) {
    if (!has(k)) continue;
    const val = raw[k];
    if (typeof val !== "number" || !Number.isFinite(val)) {
      problems.push(`${schemaLoc(path)}/${k}: must be a finite number, got ${show(val)}`);
    } else {
      node[k] = val;
    }
  }
  if (node.minimum !== undefined && node.maximum !== undefined && node.minimum > node.maximum) {
    problems.push(`${schemaLoc(path)}: minimum (${node.minimum}) is greater than maximum (${node.maximum}); nothing can pass`);
  }

  if (has("enum")) {
    const e = raw.enum;
    if (!Array.isArray(e) || e.length === 0) {
      problems.push(`${schemaLoc(path)}/enum: must be a non-empty array of allowed values`);
    } else {
      node.enumValues = e;
    }
  }

  if (has("const")) {
    node.hasConst = true;
    node.constValue = raw.const;
  }

  if (has("pattern")) {
    const p = raw.pattern;
    if (typeof p !== "string") {
      problems.push(`${schemaLoc(path)}/pattern: must be a regular expression string`);
    } else {
      const re = compilePattern(p);
      if (typeof re === "string") {
        problems.push(`${schemaLoc(path)}/pattern: does not compile (${re})`);
      } else {
        node.pattern = { source: p, re };
      }
    }
  }

  return node;
}

/** JSON Schema patterns are ECMA-262 with Unicode semantics; fall back to non-Unicode mode for legacy sources. */
function compilePattern(source: string): RegExp | string {
  try {
    return new RegExp(source, "u");
  } catch {
    try {
      return new RegExp(source);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
}

/** Checks a schema (already parsed) at declaration time. The top level must be an object. */
export function compileSchema(schema: unknown): CompileResult {
  if (!isPlainObject(schema)) {
    return { ok: false, problems: [`the schema must be a JSON object, got ${jsonTypeOf(schema)}`] };
  }
  const problems: string[] = [];
  const root = compileNode(schema, "", 0, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, schema: { kind: "lakitu.jsonSchema", root } };
}

/** Same as `compileSchema`, from JSON text (how `DeliverableChecks.jsonSchema` stores it). */
export function parseSchema(text: string): CompileResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [`the schema is not valid JSON (${e instanceof Error ? e.message : String(e)})`] };
  }
  return compileSchema(parsed);
}

/** Declaration-time problems of a schema ([] = usable). */
export function schemaProblems(schema: unknown): string[] {
  const r = compileSchema(schema);
  return r.ok ? [] : r.problems;
}

function matchesType(t: JsonTypeName, value: unknown): boolean {
  switch (t) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainObject(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
  }
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

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function validateNode(
  node: SchemaNode,
  value: unknown,
  path: string,
  errors: SchemaValidationError[],
  max: number,
): void {
  if (errors.length >= max) return;
  const fail = (message: string, at = path) => {
    if (errors.length < max) errors.push({ path: at, message });
  };
  if (node.bool !== undefined) {
    if (!node.bool) fail("no value is allowed here (schema is false)");
    return;
  }

  if (node.types && !node.types.some((t) => matchesType(t, value))) {
    // A wrong type makes every other keyword of this node noise: report the type only.
    fail(`expected ${node.types.join(" or ")}, got ${jsonTypeOf(value)}`);
    return;
  }

  if (node.enumValues && !node.enumValues.some((e) => jsonEqual(e, value))) {
    fail(`expected one of ${show(node.enumValues, 120)}, got ${show(value)}`);
  }
  if (node.hasConst && !jsonEqual(node.constValue, value)) {
    fail(`expected ${show(node.constValue)}, got ${show(value)}`);
  }

  if (typeof value === "string") {
    if (node.minLength !== undefined || node.maxLength !== undefined) {
      const len = codePointLength(value);
      if (node.minLength !== undefined && len < node.minLength) {
        fail(`string is ${len} characters, need at least ${node.minLength}`);
      }
      if (node.maxLength !== undefined && len > node.maxLength) {
        fail(`string is ${len} characters, allowed at most ${node.maxLength}`);
      }
    }
    if (node.pattern) {
      node.pattern.re.lastIndex = 0;
      if (!node.pattern.re.test(value)) fail(`${show(value)} does not match pattern /${node.pattern.source}/`);
    }
  } else if (typeof value === "number") {
    if (node.minimum !== undefined && value < node.minimum) fail(`${value} is less than the minimum ${node.minimum}`);
    if (node.maximum !== undefined && value > node.maximum) fail(`${value} is greater than the maximum ${node.maximum}`);
  } else if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems) {
      fail(`array has ${value.length} items, need at least ${node.minItems}`);
    }
    if (node.maxItems !== undefined && value.length > node.maxItems) {
      fail(`array has ${value.length} items, allowed at most ${node.maxItems}`);
    }
    if (node.items) {
      for (let i = 0; i < value.length && errors.length < max; i++) {
        validateNode(node.items, value[i], `${path}/${i}`, errors, max);
      }
    }
  } else if (isPlainObject(value)) {
    const own = (k: string) => Object.prototype.hasOwnProperty.call(value, k);
    if (node.required) {
      for (const k of node.required) if (!own(k)) fail(`missing required property ${show(k)}`);
    }
    const declared = new Set<string>();
    if (node.properties) {
      for (const [k, sub] of node.properties) {
        declared.add(k);
        if (own(k)) validateNode(sub, value[k], `${path}/${pointerToken(k)}`, errors, max);
      }
    }
    if (node.additional) {
      for (const k of Object.keys(value)) {
        if (errors.length >= max) break;
        if (declared.has(k)) continue;
        if (node.additional.bool === false) {
          fail(`unexpected property ${show(k)} (additionalProperties is false)`);
        } else {
          validateNode(node.additional, value[k], `${path}/${pointerToken(k)}`, errors, max);
        }
      }
    }
  }
}

/** Validates a parsed JSON value. Returns at most `maxErrors` errors, in document order. */
export function validateWithSchema(
  schema: CompiledSchema,
  value: unknown,
  options: { maxErrors?: number } = {},
): SchemaValidationError[] {
  const errors: SchemaValidationError[] = [];
  validateNode(schema.root, value, "", errors, Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS));
  return errors;
}

/** `"/items/2/price: expected number, got string"`; the root is shown as `/`. */
export function formatSchemaError(e: SchemaValidationError): string {
  return `${e.path === "" ? "/" : e.path}: ${e.message}`;
}

/**
 * Convenience: compiles `schema` (object or JSON text) and validates `value`, returning formatted
 * errors ([] = valid). Throws an Error listing the problems (e.g. `unsupported keyword "oneOf"`)
 * when the schema itself is not acceptable.
 */
export function validateJson(schema: unknown, value: unknown, options: { maxErrors?: number } = {}): string[] {
  const compiled = typeof schema === "string" ? parseSchema(schema) : compileSchema(schema);
  if (!compiled.ok) throw new Error(`invalid JSON Schema: ${compiled.problems.join("; ")}`);
  return validateWithSchema(compiled.schema, value, options).map(formatSchemaError);
}
