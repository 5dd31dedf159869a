/** Validation of a value against a compiled schema, and the formatted-message conveniences. */
import { validate as validateUnits, type OutputUnit } from "@cfworker/json-schema";
import { withLinearRegExp } from "../linearRegExp.js";
import { compileSchema, parseSchema } from "./compile.js";
import { denoise } from "./denoise.js";
import { describeAll } from "./describeUnits.js";
import { DEFAULT_MAX_ERRORS, FULL_REPORT_MAX_NODES } from "./limits.js";
import { valueIn } from "./locations.js";
import type { CompiledSchema, SchemaValidationError } from "./types.js";
import type { Reader } from "./unitMessage.js";
import { messageOf } from "./values.js";

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
