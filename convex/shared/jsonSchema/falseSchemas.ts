/** Stand-ins for `false` sub-schemas, recognisable by the error wording. */
import type { Obj } from "./values.js";

/**
 * A `false` sub-schema is replaced by one of these (`{ not: {} }`, equivalent) before validation: the
 * library reports `false` with a wrong keyword location, and we want to say "additionalProperties is
 * false" rather than "matched the not schema".
 */
export const FALSE_SCHEMAS = new WeakSet<object>();

export function falseSchema(): Obj {
  const s = { not: {} };
  FALSE_SCHEMAS.add(s);
  return s;
}
