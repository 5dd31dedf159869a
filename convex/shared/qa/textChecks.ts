/** The checks of text content: min_words, max_words, json_schema, regex, contains, not_contains (in that order). */
import { formatSchemaError, parseSchema, validateWithSchema } from "../jsonSchema.js";
import { compileRegex, testRegex } from "../regexCheck.js";
import type { CheckInput } from "./checkInput.js";
import { isTextType } from "./constants.js";
import { countWords } from "./content.js";
import { lineCol, list, plural, quote } from "./text.js";

/** Runs the text checks a deliverable declares; each fails with a reason when the type is not textual. */
export function runTextChecks({ d, c, inspection, push }: CheckInput): void {
  const text = inspection.text;
  const textual = isTextType(d.type) && text !== undefined;
  if (c.minWords !== undefined || c.maxWords !== undefined) {
    const words = textual ? countWords(text) : -1;
    if (c.minWords !== undefined) {
      if (!textual) push("min_words", false, `word counts only apply to text types, not ${quote(d.type)}`);
      else {
        const ok = words >= c.minWords;
        push("min_words", ok, ok ? `${plural(words, "word")} (min ${c.minWords})` : `${plural(words, "word")}, need at least ${c.minWords}`);
      }
    }
    if (c.maxWords !== undefined) {
      if (!textual) push("max_words", false, `word counts only apply to text types, not ${quote(d.type)}`);
      else {
        const ok = words <= c.maxWords;
        push("max_words", ok, ok ? `${plural(words, "word")} (max ${c.maxWords})` : `${plural(words, "word")}, allowed at most ${c.maxWords}`);
      }
    }
  }

  if (c.jsonSchema !== undefined) {
    if (d.type !== "json" || !("json" in inspection)) {
      push("json_schema", false, `jsonSchema only applies to type "json", not ${quote(d.type)}`);
    } else {
      const compiled = parseSchema(c.jsonSchema);
      if (!compiled.ok) {
        push("json_schema", false, `the stage's jsonSchema is not usable: ${compiled.problems.join("; ")}`);
      } else {
        const errors = validateWithSchema(compiled.schema, inspection.json, { maxErrors: 5 });
        if (errors.length === 0) push("json_schema", true, "matches the schema");
        else {
          const more = errors.length >= 5 ? " (first 5 shown)" : "";
          push(
            "json_schema",
            false,
            `${plural(errors.length, "schema error")}${more}: ${errors.map(formatSchemaError).join("; ")}`,
          );
        }
      }
    }
  }

  if (c.regex !== undefined) {
    if (!textual) push("regex", false, `regex only applies to text types, not ${quote(d.type)}`);
    else {
      const compiled = compileRegex(c.regex);
      if (!compiled.ok) push("regex", false, `the stage's regex ${compiled.problem}`);
      else {
        const r = testRegex(compiled.re, c.regex, text);
        push("regex", r.ok, r.reason);
      }
    }
  }

  const who = quote(d.name);
  if (c.contains !== undefined || c.notContains !== undefined) {
    const need = Array.isArray(c.contains) ? c.contains : [];
    const bannedList = Array.isArray(c.notContains) ? c.notContains : [];
    if (c.contains !== undefined) {
      if (!textual) push("contains", false, `contains only applies to text types, not ${quote(d.type)}`);
      else {
        const absent = need.filter((s) => !text.includes(s));
        push(
          "contains",
          absent.length === 0,
          absent.length === 0
            ? `contains all ${plural(need.length, "required string")}`
            : `${who} does not contain ${list(absent)} (${absent.length} of ${need.length} required strings missing; matching is case-sensitive)`,
        );
      }
    }
    if (c.notContains !== undefined) {
      if (!textual) push("not_contains", false, `notContains only applies to text types, not ${quote(d.type)}`);
      else {
        const found = bannedList.filter((s) => s !== "" && text.includes(s));
        if (found.length === 0) push("not_contains", true, `none of ${plural(bannedList.length, "forbidden string")} found`);
        else {
          const at = lineCol(text, text.indexOf(found[0]));
          push("not_contains", false, `${who} contains forbidden ${list(found)} (first at line ${at.line}, column ${at.col}); remove it`);
        }
      }
    }
  }
}
