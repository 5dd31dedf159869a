/** Declaration checks entry points: a schema (object or JSON text) checked and compiled, or its problems. */
import { dereference, type Schema, type SchemaDraft } from "@cfworker/json-schema";
import { draftOf } from "./dialects.js";
import { checkSchemaAt, type DeclarationWalk } from "./keywordChecks.js";
import { checkRefs, cycleProblem } from "./references.js";
import type { CompileResult } from "./types.js";
import { isPlainObject, jsonTypeOf, messageOf, type Obj } from "./values.js";

/** Checks a schema (already parsed) at declaration time. The top level must be an object. */
export function compileSchema(schema: unknown): CompileResult {
  if (!isPlainObject(schema)) {
    return { ok: false, problems: [`the schema must be a JSON object, got ${jsonTypeOf(schema)}`] };
  }
  // A private copy: the checks replace `false` sub-schemas and `dereference` annotates the objects.
  let root: Obj;
  try {
    root = JSON.parse(JSON.stringify(schema)) as Obj;
  } catch (e) {
    return { ok: false, problems: [`the schema is not plain JSON (${messageOf(e)})`] };
  }
  const draft = draftOf(root);
  if (!["4", "7", "2019-09", "2020-12"].includes(draft)) return { ok: false, problems: [draft] };
  const w: DeclarationWalk = { draft: draft as SchemaDraft, problems: [], nodes: 0, at: new Map(), refs: [] };
  const holder = { root };
  checkSchemaAt(holder, "root", "#", 0, w);
  if (w.problems.length > 0) return { ok: false, problems: w.problems };

  let lookup: Record<string, Schema | boolean>;
  try {
    lookup = dereference(root as Schema);
  } catch (e) {
    return { ok: false, problems: [`the schema's identifiers do not resolve (${messageOf(e)}); check its "$id" and "$anchor" values`] };
  }
  checkRefs(w, lookup);
  if (w.problems.length > 0) return { ok: false, problems: w.problems };

  const cycle = cycleProblem(w, root as Schema, lookup);
  if (cycle) return { ok: false, problems: [cycle] };
  return { ok: true, schema: { kind: "lakitu.jsonSchema", root: root as Schema, lookup, draft: w.draft } };
}

/** Same as `compileSchema`, from JSON text (how `DeliverableChecks.jsonSchema` stores it). */
export function parseSchema(text: string): CompileResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [`the schema is not valid JSON (${messageOf(e)})`] };
  }
  return compileSchema(parsed);
}

/** Declaration-time problems of a schema ([] = usable). */
export function schemaProblems(schema: unknown): string[] {
  const r = compileSchema(schema);
  return r.ok ? [] : r.problems;
}
