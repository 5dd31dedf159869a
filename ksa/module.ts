/**
 * `createKsaModule`: the object agent code gets from `require("lakitu/ksa")`. Allowed KSAs are plain
 * objects of async functions that validate params, run (`local`) or forward (`ctx.gateway`), and
 * validate the result. Everything else throws at the moment it is touched, so
 * `import { web } from "lakitu/ksa"` fails clearly when the stage does not allow `web`.
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { z } from "zod";
import { KSA_NAME, RESERVED_NAMES } from "./define.js";
import { KsaCallError, KsaPolicyError } from "./errors.js";
import { isKsaAllowed } from "./policy.js";
import type { KsaContext, KsaDefinition, KsaFunction } from "./types.js";

export { resolveAllowed } from "./policy.js";

export type KsaCallable = (params?: unknown) => Promise<unknown>;
export type KsaModule = Record<string, Record<string, KsaCallable>>;

/**
 * Builds the "lakitu/ksa" module for one stage.
 *
 * `allowed` is the exact list of KSA names the stage may use (see `resolveAllowed`); a name that is not
 * among `defs` is a configuration error and throws here. Gateway functions call
 * `ctx.gateway(ksa, fn, params)` with the params already validated (zod defaults applied); it must
 * resolve to the function's result (validated here against the KSA's result schema) or reject with an
 * Error whose message the agent will read.
 */
export function createKsaModule(ctx: KsaContext, defs: KsaDefinition[], allowed: string[], stageName: string): KsaModule {
  checkContext(ctx);
  const byName = new Map<string, KsaDefinition>();
  for (const def of defs) {
    if (byName.has(def.name)) throw new KsaPolicyError(`two KSAs are named "${def.name}"`);
    byName.set(def.name, def);
  }
  const allowedNames = [...new Set(allowed)];
  const unknown = allowedNames.filter((n) => !byName.has(n));
  if (unknown.length) {
    throw new KsaPolicyError(
      `stage "${stageName}" allows unknown KSA${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")}; known: ${[...byName.keys()].join(", ")}`,
    );
  }

  const target: KsaModule = {};
  for (const name of allowedNames) target[name] = ksaObject(ctx, byName.get(name)!);
  const listed = allowedNames.join(", ") || "none";

  const module: KsaModule = new Proxy(target, {
    get(t, key) {
      if (typeof key === "symbol") return Reflect.get(t, key);
      if (isKsaAllowed(allowedNames, key)) return t[key];
      if (key === "__esModule") return true;
      if (key === "default") return module;
      if (RESERVED_NAMES.has(key) || !KSA_NAME.test(key)) return Reflect.get(t, key);
      if (byName.has(key)) {
        throw new KsaPolicyError(`KSA "${key}" is not allowed in stage "${stageName}" (allowed: ${listed})`);
      }
      throw new KsaPolicyError(`unknown KSA "${key}"; available: ${listed}`);
    },
    has(t, key) {
      return typeof key === "string" ? isKsaAllowed(allowedNames, key) || key === "__esModule" : Reflect.has(t, key);
    },
    ...readOnly<KsaModule>('the "lakitu/ksa" module'),
  });
  return module;
}

function checkContext(ctx: KsaContext): void {
  if (!ctx || !isAbsolute(ctx.workspace)) throw new Error("createKsaModule: ctx.workspace must be an absolute path");
  const out = resolve(ctx.workspace, ctx.outputDir ?? "");
  const rel = relative(resolve(ctx.workspace), out);
  if (!isAbsolute(ctx.outputDir) || rel.startsWith("..") || isAbsolute(rel)) {
    throw new Error("createKsaModule: ctx.outputDir must be an absolute path inside ctx.workspace");
  }
  if (typeof ctx.gateway !== "function") throw new Error("createKsaModule: ctx.gateway must be a function");
}

function ksaObject(ctx: KsaContext, def: KsaDefinition): Record<string, KsaCallable> {
  const fns: Record<string, KsaCallable> = {};
  for (const [fnName, fn] of Object.entries(def.functions)) fns[fnName] = callable(ctx, def.name, fnName, fn);
  const names = Object.keys(fns);
  return new Proxy(fns, {
    get(t, key) {
      if (typeof key === "symbol" || Object.hasOwn(t, key) || RESERVED_NAMES.has(key)) return Reflect.get(t, key);
      if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) || key.startsWith("_") || key.startsWith("$")) return undefined;
      throw new KsaPolicyError(`${def.name} has no function "${key}"; it has: ${names.join(", ")}`);
    },
    ...readOnly<Record<string, KsaCallable>>(`the KSA "${def.name}"`),
  });
}

function readOnly<T extends object>(what: string): Pick<ProxyHandler<T>, "set" | "defineProperty" | "deleteProperty"> {
  const refuse = (): never => {
    throw new KsaPolicyError(`${what} is read-only`);
  };
  return { set: refuse, defineProperty: refuse, deleteProperty: refuse };
}

function callable(ctx: KsaContext, ksa: string, fnName: string, fn: KsaFunction): KsaCallable {
  const call = async (params?: unknown): Promise<unknown> => {
    const parsed = fn.params.safeParse(params === undefined ? {} : params);
    if (!parsed.success) throw new KsaCallError(ksa, fnName, paramsProblem(fn, params, parsed.error.issues));
    let raw: unknown;
    try {
      raw = fn.local ? await fn.local(ctx, parsed.data) : await ctx.gateway(ksa, fnName, parsed.data);
    } catch (e) {
      if (e instanceof KsaCallError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      const prefix = `${ksa}.${fnName}: `;
      throw new KsaCallError(ksa, fnName, message.startsWith(prefix) ? message.slice(prefix.length) : message, { cause: e });
    }
    const result = fn.result.safeParse(raw);
    if (!result.success) {
      const who = fn.gateway ? "the component" : "the function";
      throw new KsaCallError(ksa, fnName, `${who} returned an invalid result: ${formatIssues(result.error.issues, "result")}`);
    }
    return result.data;
  };
  Object.defineProperty(call, "name", { value: `${ksa}.${fnName}` });
  return call;
}

function paramsProblem(fn: KsaFunction, params: unknown, issues: z.core.$ZodIssue[]): string {
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    const keys = Object.entries((fn.params as z.ZodObject).shape).map(([k, s]) => (s.safeParse(undefined).success ? `${k}?` : k));
    const got = params === null ? "null" : Array.isArray(params) ? "array" : typeof params;
    return `params: expected one object argument ${keys.length ? `{ ${keys.join(", ")} }` : "{}"}, received ${got}`;
  }
  return formatIssues(issues, "params");
}

/** `params.path: expected string, received number; params.kind: invalid option ...` */
export function formatIssues(issues: z.core.$ZodIssue[], root: string): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const where = root + i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
      const message = i.message.replace(/^Invalid input: /, "");
      return `${where}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`;
    })
    .join("; ");
}
