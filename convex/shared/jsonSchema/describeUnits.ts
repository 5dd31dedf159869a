/** Lakitu's wording of the library's output units: wrappers dropped, anyOf/oneOf/propertyNames said as one message. */
import type { OutputUnit } from "@cfworker/json-schema";
import { instancePath, isUnder, lastToken, schemaAt } from "./locations.js";
import { describeOne, type Described, type Reader } from "./unitMessage.js";
import { show } from "./values.js";

/** Units that only say "a sub-schema failed"; the sub-schema's own units follow them. */
const WRAPPERS = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "$ref",
  "$recursiveRef",
  "allOf",
  "if",
  "dependentSchemas",
]);

/** The units after `units[i]` that belong to it (their keyword location is under its own). */
function childrenEnd(units: OutputUnit[], i: number): number {
  let j = i + 1;
  while (j < units.length && isUnder(units[j], units[i].keywordLocation)) j++;
  return j;
}

/** One message per problem, in unit order, deduplicated; stops after `limit` messages. */
export function describeAll(r: Reader, units: OutputUnit[], limit = Infinity): Described[] {
  const out: Described[] = [];
  const seen = new Set<string>();
  const push = (e: Described) => {
    const key = `${e.path}\u0000${e.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(e);
    }
  };
  let i = 0;
  while (i < units.length && out.length < limit) {
    const u = units[i];
    const path = instancePath(u.instanceLocation);
    if (u.keyword === "anyOf" || u.keyword === "oneOf" || u.keyword === "propertyNames") {
      const end = childrenEnd(units, i);
      push({ path, ...describeGroup(r, u, units.slice(i + 1, end)) });
      i = end;
      continue;
    }
    i++;
    if (WRAPPERS.has(u.keyword)) continue;
    if (u.keyword === "dependencies" && !/^Instance has ".*" but does not have ".*"\.$/s.test(u.error)) continue; // schema form: a wrapper
    const e = describeOne(r, u, path);
    if (e) push(e);
  }
  return out;
}

/** One message for an `anyOf`/`oneOf`/`propertyNames` failure and the units of its sub-schemas. */
function describeGroup(r: Reader, u: OutputUnit, children: OutputUnit[]): { message: string; types?: string[]; got?: string } {
  const path = instancePath(u.instanceLocation);
  if (u.keyword === "propertyNames") {
    const key = /^Property name "(.*)" does not match schema\.$/s.exec(u.error)?.[1] ?? lastToken(children[0]?.instanceLocation ?? "");
    const sub: Reader = { compiled: r.compiled, valueAt: (loc) => (children.some((c) => c.instanceLocation === loc) ? key : r.valueAt(loc)) };
    const why = describeAll(sub, children).map((e) => e.message);
    return { message: `property name ${show(key)} is not allowed${why.length ? `: ${why.slice(0, 3).join("; ")}` : " by propertyNames"}` };
  }
  const alternatives = schemaAt(r.compiled, u.keywordLocation);
  const n = Array.isArray(alternatives) ? alternatives.length : 0;
  const failed: Array<{ index: number; errors: Described[] }> = [];
  for (let b = 0; b < n; b++) {
    const own = children.filter((c) => isUnder(c, `${u.keywordLocation}/${b}`));
    if (own.length) failed.push({ index: b, errors: describeAll(r, own) });
  }
  if (u.keyword === "oneOf" && failed.length < n) {
    const matched = Array.from({ length: n }, (_, b) => b).filter((b) => !failed.some((f) => f.index === b));
    return { message: `matches ${matched.length} of the oneOf alternatives (${matched.map((b) => `[${b}]`).join(", ")}); it must match exactly one` };
  }
  // Every alternative only failed on the type: say it the way a `type` array would.
  const typeOnly = failed.map((f) => (f.errors.length === 1 && f.errors[0].path === path ? f.errors[0] : undefined));
  if (typeOnly.length > 0 && typeOnly.every((e) => e?.types && e.got === typeOnly[0]!.got)) {
    const types = [...new Set(typeOnly.flatMap((e) => e!.types!))];
    const got = typeOnly[0]!.got!;
    return { message: `expected ${types.join(" or ")}, got ${got}`, types, got };
  }
  const reasons = failed.map(({ index, errors }) => {
    const shown = errors.slice(0, 3).map((e) => (e.path === path ? e.message : `${e.path || "/"}: ${e.message}`));
    const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : "";
    return `[${index}] ${shown.join(", ")}${more}`;
  });
  return { message: `matches none of the ${n} ${u.keyword} alternatives: ${reasons.join("; ")}` };
}
