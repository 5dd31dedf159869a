/**
 * `defineKSA`: checks a KSA definition when its module loads, so a malformed KSA fails at startup with
 * a message naming it, not in the middle of an agent run. `toRegistryEntry` turns a definition into
 * the pure data the component reads (params and result as JSON Schema).
 */
import { z } from "zod";
import { KsaDefinitionError } from "./errors.js";
import type { KsaDefinition, KsaFunction, KsaRegistryEntry } from "./types.js";

export const KSA_NAME = /^[a-z][a-zA-Z0-9_-]{0,63}$/;
const FUNCTION_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
export const KSA_CATEGORIES: ReadonlyArray<KsaDefinition["category"]> = [
  "workspace",
  "output",
  "planning",
  "network",
  "documents",
  "project",
];

/**
 * Names the module object (and each KSA object) answers itself: `then` (so awaiting or returning the
 * module is safe), `default` (interop), `toJSON`, and everything on Object.prototype.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  "then",
  "default",
  "toJSON",
  "__esModule",
  ...Object.getOwnPropertyNames(Object.prototype),
]);

/**
 * A `KsaDefinition` whose functions keep their own zod types, so `local` receives typed params.
 * (`KsaDefinition.functions` is a plain record of `KsaFunction`, whose params would be `unknown`.)
 */
export type TypedKsaDefinition<P extends Record<string, z.ZodType>, R extends Record<keyof P, z.ZodType>> = Omit<
  KsaDefinition,
  "functions"
> & { functions: { [K in keyof P]: KsaFunction<P[K], R[K]> } };

/**
 * Declares a KSA. Throws a `KsaDefinitionError` naming the KSA and function when:
 * the name is not `/^[a-z][a-zA-Z0-9_-]{0,63}$/` or is reserved, the description is empty, the
 * category is unknown, there are no functions, a function name is not an identifier (or is reserved),
 * a function has not exactly one of `local` / `gateway: true`, `params` is not a zod object schema,
 * `result` is not a zod schema, or either cannot be expressed as JSON Schema.
 *
 * @example
 * export const hello = defineKSA({
 *   name: "hello", description: "Greets.", category: "project", defaultAllowed: false,
 *   functions: {
 *     greet: { description: "Says hello.", params: z.object({ who: z.string() }), result: z.string(),
 *              local: async (_ctx, { who }) => `hello ${who}` },
 *   },
 * });
 */
export function defineKSA<P extends Record<string, z.ZodType>, R extends Record<keyof P, z.ZodType>>(
  def: TypedKsaDefinition<P, R>,
): KsaDefinition;
export function defineKSA(def: KsaDefinition): KsaDefinition;
export function defineKSA(def: KsaDefinition): KsaDefinition {
  const name = typeof def?.name === "string" ? def.name : String(def?.name);
  const fail = (msg: string): never => {
    throw new KsaDefinitionError(`defineKSA("${name}"): ${msg}`);
  };
  if (!KSA_NAME.test(name)) fail(`the name must match ${KSA_NAME} (lowercase first letter, at most 64 characters)`);
  if (RESERVED_NAMES.has(name)) fail(`"${name}" is reserved; choose another name`);
  if (typeof def.description !== "string" || def.description.trim() === "") fail("the description is empty");
  if (!KSA_CATEGORIES.includes(def.category)) fail(`unknown category "${def.category}"; use one of ${KSA_CATEGORIES.join(", ")}`);
  if (typeof def.defaultAllowed !== "boolean") fail("defaultAllowed must be true or false");
  const fns = def.functions && typeof def.functions === "object" ? Object.keys(def.functions) : [];
  if (fns.length === 0) fail("it has no functions; define at least one");
  for (const fnName of fns) checkFunction(fnName, def.functions[fnName], (msg) => fail(`function "${fnName}": ${msg}`));
  return def;
}

function checkFunction(fnName: string, fn: KsaFunction, fail: (msg: string) => never): void {
  if (!FUNCTION_NAME.test(fnName)) fail("the name must be a JavaScript identifier");
  if (RESERVED_NAMES.has(fnName)) fail(`"${fnName}" is reserved; choose another name`);
  if (!fn || typeof fn !== "object") fail("the definition must be an object");
  if (typeof fn.description !== "string" || fn.description.trim() === "") fail("the description is empty");
  const hasLocal = fn.local !== undefined;
  const hasGateway = fn.gateway !== undefined;
  if (hasLocal === hasGateway) fail("give exactly one of `local` (runs in the sandbox) or `gateway: true` (runs in the component)");
  if (hasLocal && typeof fn.local !== "function") fail("`local` must be an async function (ctx, params) => result");
  if (hasGateway && fn.gateway !== true) fail("`gateway` must be `true`");
  if (!isZodObject(fn.params)) fail("params must be a zod object schema, e.g. z.object({ path: z.string() })");
  if (!isZodSchema(fn.result)) fail("result must be a zod schema");
  try {
    paramsJsonSchema(fn);
  } catch (e) {
    fail(`params cannot be expressed as JSON Schema (${(e as Error).message})`);
  }
  try {
    resultJsonSchema(fn);
  } catch (e) {
    fail(`result cannot be expressed as JSON Schema (${(e as Error).message})`);
  }
}

// Checked structurally rather than with instanceof, so a second copy of zod still works.
function isZodSchema(s: unknown): s is z.ZodType {
  return !!s && typeof s === "object" && "_zod" in s && typeof (s as z.ZodType).safeParse === "function";
}

function isZodObject(s: unknown): s is z.ZodObject {
  return isZodSchema(s) && (s as z.ZodType)._zod.def.type === "object";
}

/** The JSON Schema of what a caller passes (optional fields with defaults stay optional). */
function paramsJsonSchema(fn: KsaFunction): Record<string, unknown> {
  return withoutDialect(z.toJSONSchema(fn.params, { io: "input" }));
}

/** The JSON Schema of what a function returns. */
function resultJsonSchema(fn: KsaFunction): Record<string, unknown> {
  return withoutDialect(z.toJSONSchema(fn.result, { io: "output" }));
}

function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** The registry entry of a definition: pure JSON-compatible data, in the definition's order. */
export function toRegistryEntry(def: KsaDefinition): KsaRegistryEntry {
  return {
    name: def.name,
    description: def.description,
    category: def.category,
    defaultAllowed: def.defaultAllowed,
    functions: Object.entries(def.functions).map(([name, fn]) => ({
      name,
      description: fn.description,
      gateway: fn.gateway === true,
      params: paramsJsonSchema(fn),
      result: resultJsonSchema(fn),
    })),
  };
}
