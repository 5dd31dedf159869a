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
 *
 * This module is the public surface every importer uses; the code lives in ./jsonSchema/, one file per
 * concern (declaration checks, `$ref`s, dialects, formats, locations, error wording, validation).
 */
export { JSON_TYPES, jsonEqual, jsonTypeOf, type JsonTypeName } from "./jsonSchema/values.js";
export { SUPPORTED_KEYWORDS, UNSUPPORTED_KEYWORDS } from "./jsonSchema/keywords.js";
export { DEFAULT_MAX_ERRORS, FULL_REPORT_MAX_NODES, MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES } from "./jsonSchema/limits.js";
export type { CompiledSchema, CompileResult, SchemaValidationError } from "./jsonSchema/types.js";
export { compileSchema, parseSchema, schemaProblems } from "./jsonSchema/compile.js";
export { formatSchemaError, validateJson, validateWithSchema } from "./jsonSchema/validate.js";
