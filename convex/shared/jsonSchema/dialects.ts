/** `$schema` dialects: which draft a schema's root selects. */
import type { SchemaDraft } from "@cfworker/json-schema";
import { show, type Obj } from "./values.js";

/** `$schema` URIs and the draft they select (the 2020-12 default applies when `$schema` is absent). */
const DIALECTS: Array<[RegExp, SchemaDraft]> = [
  [/^https?:\/\/json-schema\.org\/draft-04\/schema#?$/, "4"],
  [/^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/, "7"],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, "2019-09"],
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, "2020-12"],
];
const DEFAULT_DRAFT: SchemaDraft = "2020-12";

/** The draft the root's `$schema` selects, or the problem to report when it names no known dialect. */
export function draftOf(root: Obj): SchemaDraft | string {
  const uri = root.$schema;
  if (uri === undefined) return DEFAULT_DRAFT;
  if (typeof uri === "string") for (const [re, draft] of DIALECTS) if (re.test(uri)) return draft;
  return (
    `#/$schema: unknown JSON Schema dialect ${show(uri)}; use "https://json-schema.org/draft/2020-12/schema" (the default), ` +
    `".../draft/2019-09/schema", "http://json-schema.org/draft-07/schema#", draft-06 or draft-04`
  );
}
