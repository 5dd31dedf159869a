/** The keywords the declaration checks read (and how), the unsupported ones, and contradicting bound pairs. */
import { JSON_TYPES } from "./values.js";

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

export const KEYWORDS: Record<string, KeywordKind> = {
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

export const UNSUPPORTED = new Set<string>(UNSUPPORTED_KEYWORDS);
export const TYPE_NAMES = new Set<string>(JSON_TYPES);

/** Lower/upper bound pairs that contradict each other when the lower is greater. */
export const BOUNDS = [
  ["minItems", "maxItems"],
  ["minLength", "maxLength"],
  ["minimum", "maximum"],
  ["minProperties", "maxProperties"],
  ["minContains", "maxContains"],
] as const;
