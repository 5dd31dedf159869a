/** `$ref` checks: references that do not resolve inside the schema, and cycles that never descend into the value. */
import type { Schema, SchemaDraft } from "@cfworker/json-schema";
import type { DeclarationWalk } from "./keywordChecks.js";
import { isPlainObject, show, type Obj } from "./values.js";

/** The in-place sub-schemas of a node: the ones applied to the same value (a cycle of these never ends). */
function inPlace(node: Obj, draft: SchemaDraft, root: Schema, lookup: Record<string, Schema | boolean>): unknown[] {
  const out: unknown[] = [];
  if (typeof node.$ref === "string") {
    out.push(lookup[(node as Schema).__absolute_ref__ ?? node.$ref]);
    if (draft === "4" || draft === "7") return out.filter(isPlainObject); // siblings of $ref are ignored in these drafts; a boolean target applies nothing in place
  }
  if (node.$recursiveRef === "#") out.push(root);
  for (const k of ["allOf", "anyOf", "oneOf"]) if (Array.isArray(node[k])) out.push(...(node[k] as unknown[]));
  for (const k of ["not", "if", "then", "else"]) if (k in node) out.push(node[k]);
  for (const k of ["dependentSchemas", "dependencies"]) if (isPlainObject(node[k])) out.push(...Object.values(node[k] as Obj));
  return out.filter(isPlainObject);
}

/** A reference cycle through in-place sub-schemas only (it would recurse without consuming the value). */
function findCycle(start: Obj, draft: SchemaDraft, root: Schema, lookup: Record<string, Schema | boolean>, done: Set<object>): Obj[] | undefined {
  // Iterative DFS (three colours: not in `done` and not on the path, on the path, done).
  const path: Obj[] = [];
  const onPath = new Set<object>();
  const stack: Array<{ node: Obj; next: unknown[] }> = [];
  const enter = (n: Obj) => {
    path.push(n);
    onPath.add(n);
    stack.push({ node: n, next: inPlace(n, draft, root, lookup) });
  };
  enter(start);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const child = top.next.pop() as Obj | undefined;
    if (child === undefined) {
      stack.pop();
      path.pop();
      onPath.delete(top.node);
      done.add(top.node);
      continue;
    }
    if (onPath.has(child)) return [...path.slice(path.indexOf(child)), child];
    if (!done.has(child)) enter(child);
  }
  return undefined;
}

/** Adds to `w.problems` the `$ref`s that do not resolve in `lookup` or do not point at a checked schema. */
export function checkRefs(w: DeclarationWalk, lookup: Record<string, Schema | boolean>): void {
  for (const { node, at } of w.refs) {
    const target = lookup[(node as Schema).__absolute_ref__ ?? (node.$ref as string)];
    if (target === undefined) {
      w.problems.push(
        `${at}/$ref: cannot resolve ${show(node.$ref)}; only references inside this schema are supported ` +
          `(e.g. "#/$defs/name", "#/definitions/name", "#/properties/name" or an "$anchor")`,
      );
    } else if (target !== true && !w.at.has(target as object)) {
      w.problems.push(`${at}/$ref: ${show(node.$ref)} does not point at a schema; put shared schemas under "$defs" and refer to "#/$defs/name"`);
    }
  }
}

/** The problem to report for the first reference cycle through in-place sub-schemas, if any. */
export function cycleProblem(w: DeclarationWalk, root: Schema, lookup: Record<string, Schema | boolean>): string | undefined {
  const done = new Set<object>();
  for (const node of w.at.keys()) {
    if (done.has(node)) continue;
    const cycle = findCycle(node as Obj, w.draft, root, lookup, done);
    if (cycle) {
      const where = cycle.map((n) => w.at.get(n) ?? "?");
      return (
        `${where[0]}: reference cycle ${where.join(" → ")} never descends into a property or item, so checking it would never end; ` +
        `a recursive schema must recurse through "properties", "items" or similar`
      );
    }
  }
  return undefined;
}
