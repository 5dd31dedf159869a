/** Size limits of schemas and of validation reports. */

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
