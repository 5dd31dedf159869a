/**
 * Checks a value against a Convex validator and explains the first mismatch the way a person fixes it:
 * the field as a path (`stages[2].deliverables[0].type`), what it was, and what is allowed.
 *
 * The component's public functions keep their validators as the source of their types (and of the
 * generated `ComponentApi`), but register without a runtime argument validator and call `checkArgs`
 * first thing instead (see `model/functions.ts`): Convex's own message ("Validator error: Expected
 * one of literal, literal, …") names neither the field nor the allowed values and has no Lakitu code.
 */
import type { GenericValidator, PropertyValidators } from "convex/values";

export type ArgIssue = { path: string; message: string };

/** How a value of `validator` is described to a person: "a string", `one of "a", "b"`, … */
export function describe(validator: GenericValidator, depth = 0): string {
  switch (validator.kind) {
    case "string":
    case "id":
      return "a string";
    case "float64":
      return "a number";
    case "int64":
      return "a bigint (int64)";
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    case "bytes":
      return "an ArrayBuffer";
    case "any":
      return "any Convex value";
    case "literal":
      return JSON.stringify(validator.value);
    case "array":
      return depth > 1 ? "an array" : `an array of ${describe(validator.element, depth + 1)}`;
    case "record":
      return depth > 1 ? "an object" : `an object mapping strings to ${describe(validator.value, depth + 1)}`;
    case "object": {
      const names = Object.entries(validator.fields).map(([k, f]) => (f.isOptional === "optional" ? `${k}?` : k));
      return names.length === 0 ? "an empty object" : `an object with fields ${names.join(", ")}`;
    }
    case "union":
      if (validator.members.every((m) => m.kind === "literal")) return `one of ${validator.members.map((m) => describe(m)).join(", ")}`;
      return `one of: ${validator.members.map((m) => describe(m, depth + 1)).join("; ")}`;
    default:
      return `a ${(validator as { kind: string }).kind}`;
  }
}

/** The value as it appears in a message: JSON, shortened; `undefined`, NaN and functions by name. */
export function show(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return value.length === 0 ? "[]" : `an array of ${value.length}`;
  if (typeof value === "object" && value !== null && !isPlainObject(value)) return `a ${value.constructor?.name ?? "non-plain"} object`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const at = (path: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

/** The first place `value` does not match `validator`, or null when it matches. */
export function findIssue(validator: GenericValidator, value: unknown, path: string): ArgIssue | null {
  const wrong = (): ArgIssue => ({ path, message: `${path || "the arguments"} is ${show(value)}; expected ${describe(validator)}` });
  switch (validator.kind) {
    case "any":
      return null;
    case "string":
    case "id":
      return typeof value === "string" ? null : wrong();
    case "float64":
      return typeof value === "number" ? null : wrong();
    case "int64":
      return typeof value === "bigint" ? null : wrong();
    case "boolean":
      return typeof value === "boolean" ? null : wrong();
    case "null":
      return value === null ? null : wrong();
    case "bytes":
      return value instanceof ArrayBuffer ? null : wrong();
    case "literal":
      return value === validator.value ? null : wrong();
    case "array": {
      if (!Array.isArray(value)) return wrong();
      for (let i = 0; i < value.length; i++) {
        const issue = findIssue(validator.element, value[i], `${path}[${i}]`);
        if (issue) return issue;
      }
      return null;
    }
    case "record": {
      if (!isPlainObject(value)) return wrong();
      for (const [k, item] of Object.entries(value)) {
        const keyIssue = findIssue(validator.key, k, at(path, k));
        if (keyIssue) return { path: at(path, k), message: `${at(path, k)}: the key ${JSON.stringify(k)} is not allowed; keys must be ${describe(validator.key)}` };
        const issue = findIssue(validator.value, item, at(path, k));
        if (issue) return issue;
      }
      return null;
    }
    case "object":
      return isPlainObject(value) ? fieldsIssue(validator.fields, value, path) : wrong();
    case "union": {
      if (validator.members.some((m) => findIssue(m, value, path) === null)) return null;
      const meant = discriminated(validator.members, value);
      return meant ? findIssue(meant, value, path) : wrong();
    }
    default:
      return wrong();
  }
}

/**
 * The object member of a union the value clearly means: the only one whose literal fields (a `kind`,
 * `op`, …) all equal the value's. Its issue is more useful than "expected one of: …".
 */
function discriminated(members: GenericValidator[], value: unknown): GenericValidator | undefined {
  if (!isPlainObject(value)) return undefined;
  const matches = members.filter((m) => {
    if (m.kind !== "object") return false;
    const literals = Object.entries(m.fields).filter(([, f]) => f.kind === "literal");
    return literals.length > 0 && literals.every(([k, f]) => value[k] === (f as { value: unknown }).value);
  });
  return matches.length === 1 ? matches[0] : undefined;
}

/** Unknown fields, missing required ones, then each field's value. */
export function fieldsIssue(fields: Record<string, GenericValidator>, value: Record<string, unknown>, path: string): ArgIssue | null {
  const allowed = Object.keys(fields);
  for (const key of Object.keys(value)) {
    if (value[key] === undefined || key in fields) continue;
    const where = at(path, key);
    const list = allowed.length ? `allowed fields: ${allowed.join(", ")}` : "it takes no fields";
    return { path: where, message: `${where} is not a field${path ? ` of ${path}` : ""}; ${list}` };
  }
  for (const [key, field] of Object.entries(fields)) {
    const item = value[key];
    const where = at(path, key);
    if (item === undefined) {
      if (field.isOptional === "optional") continue;
      return { path: where, message: `${where} is missing; it is required and must be ${describe(field)}` };
    }
    const issue = findIssue(field, item, where);
    if (issue) return issue;
  }
  return null;
}

/** The first issue with a function's arguments (`args` as declared: property validators), or null. */
export function argsIssue(args: PropertyValidators, value: unknown): ArgIssue | null {
  if (!isPlainObject(value)) return { path: "", message: `the arguments are ${show(value)}; expected an object` };
  return fieldsIssue(args, value, "");
}
