/** Checks of what an app writes on a card (addCard, updateCard): title, description and context. */
import { fail } from "../shared/errors.js";
import { MAX_CONTEXT_BYTES, MAX_CONTEXT_VARIABLES } from "../shared/defaults.js";
import { checkText } from "./validate.js";

/** Context variables: identifiers as names, each value ≤ 10,000 characters, all of it ≤ MAX_CONTEXT_BYTES as UTF-8 JSON. */
export function checkContext(field: string, context: Record<string, string> | undefined): void {
  if (context === undefined) return;
  const entries = Object.entries(context);
  if (entries.length > MAX_CONTEXT_VARIABLES) {
    fail("invalid_argument", `${field} has ${entries.length} variables; the limit is ${MAX_CONTEXT_VARIABLES}`, field);
  }
  for (const [k, val] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k)) fail("invalid_argument", `${field} variable name "${k}" must be an identifier (letters, digits, _)`, `${field}.${k}`);
    checkText(`${field}.${k}`, val, 10_000);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(context)).length;
  if (bytes > MAX_CONTEXT_BYTES) {
    fail("too_large", `${field} is ${bytes} bytes as UTF-8 JSON; the limit is ${MAX_CONTEXT_BYTES} bytes (${MAX_CONTEXT_BYTES / 1024} KiB) for all variables together`);
  }
}
