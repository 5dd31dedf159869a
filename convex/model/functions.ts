/**
 * The builders for the component's public functions: `query`, `mutation` and `action` as in
 * `_generated/server`, with the same types, but their arguments are checked by `checkArgs` instead of
 * Convex's argument validator, so a bad value gets a Lakitu `invalid_argument` error naming the field as
 * a path and what it allows (Convex's own says "Expected one of literal, literal, …" and has no code).
 *
 * The declared validators stay the single source of the arguments' types: the handler's, the
 * `ComponentApi` the app sees (scripts/codegen.ts reads them through `lakituArgs`), and what is checked.
 * Registered without a runtime validator, a function accepts any object from Convex and checks it first
 * thing, before it reads or writes anything. Internal functions keep Convex's validators: only
 * Lakitu's own code calls them.
 */
import { asObjectValidator, type GenericValidator, type PropertyValidators } from "convex/values";
import { argsIssue } from "../shared/argCheck.js";
import { fail } from "../shared/errors.js";
import { action as rawAction, mutation as rawMutation, query as rawQuery } from "../component/_generated/server.js";

type Definition = { args?: PropertyValidators | GenericValidator; handler: (ctx: any, args: any) => any; [k: string]: unknown };

/** Throws `invalid_argument` with the field's path when `value` does not match the declared `args`. */
export function checkArgs(args: PropertyValidators, value: unknown): void {
  const issue = argsIssue(args, value);
  if (issue) fail("invalid_argument", issue.message, issue.path);
}

function checked<B extends (def: any) => any>(builder: B): B {
  return ((def: Definition | ((ctx: any, args: any) => any)) => {
    if (typeof def === "function" || def.args === undefined) return builder(def);
    const strict = asObjectValidator(def.args);
    if (strict.kind !== "object") throw new Error("a public Lakitu function's args must be an object validator");
    const { args: _declared, handler, ...rest } = def;
    const fn = builder({
      ...rest,
      handler: (ctx: unknown, args: unknown) => {
        checkArgs(strict.fields, args);
        return handler(ctx, args);
      },
    });
    // The declared arguments, for codegen: what `exportArgs` would have returned.
    Object.defineProperty(fn, "lakituArgs", { value: () => JSON.stringify((strict as unknown as { json: unknown }).json) });
    return fn;
  }) as B;
}

export const query = checked(rawQuery);
export const mutation = checked(rawMutation);
export const action = checked(rawAction);
