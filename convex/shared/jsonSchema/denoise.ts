/** Dropping the library's output units that would only be noise in Lakitu's report. */
import type { OutputUnit } from "@cfworker/json-schema";
import { parentLocation, selfAndAncestors } from "./locations.js";

/**
 * Drops units that would be noise: everything else a schema says about a value of the wrong type,
 * and the per-item failures behind a `contains`/`minContains`/`maxContains` verdict. Linear in the
 * number of units (times the nesting depth): a large array of wrong values must stay cheap.
 */
export function denoise(units: OutputUnit[]): OutputUnit[] {
  // schema node location → instance locations whose value has the wrong type for that node
  const wrongType = new Map<string, Set<string>>();
  const containsAt = new Set<string>();
  for (const u of units) {
    if (u.keyword === "type") {
      const node = parentLocation(u.keywordLocation);
      let set = wrongType.get(node);
      if (!set) wrongType.set(node, (set = new Set()));
      set.add(u.instanceLocation);
    } else if (u.keyword === "contains" || u.keyword === "minContains" || u.keyword === "maxContains") {
      containsAt.add(`${parentLocation(u.keywordLocation)}/contains`);
    }
  }
  if (wrongType.size === 0 && containsAt.size === 0) return units;
  const noise = (u: OutputUnit): boolean => {
    const schemaPath = selfAndAncestors(u.keywordLocation);
    for (let i = 1; i < schemaPath.length; i++) {
      const above = schemaPath[i];
      if (containsAt.has(above)) return true;
      // schemaPath[1] is the unit's own schema node: its type unit stays, its other units go.
      const wrong = i === 1 && u.keyword === "type" ? undefined : wrongType.get(above);
      if (wrong && selfAndAncestors(u.instanceLocation).some((loc) => wrong.has(loc))) return true;
    }
    return false;
  };
  return units.filter((u) => !noise(u));
}
