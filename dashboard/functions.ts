/**
 * `devFunctions`: one function reference per `LakituFunctions` key, by name (`makeFunctionReference`),
 * which `LocalApiClient` sends to `lakitu dev`'s local API. Every optional function is there, so the
 * dashboard shows every control.
 */
import { makeFunctionReference } from "convex/server";
import { LAKITU_MUTATION_NAMES, LAKITU_QUERY_NAMES, type LakituFunctions } from "../react/functions.js";

function byName(): LakituFunctions {
  const out: Record<string, unknown> = {};
  for (const name of LAKITU_QUERY_NAMES) out[name] = makeFunctionReference<"query">(name);
  for (const name of LAKITU_MUTATION_NAMES) out[name] = makeFunctionReference<"mutation">(name);
  return out as LakituFunctions;
}

export const devFunctions: LakituFunctions = byName();
