/** Lakitu's message for one failing keyword unit of the library's output. */
import type { OutputUnit } from "@cfworker/json-schema";
import { FALSE_SCHEMAS } from "./falseSchemas.js";
import { URI_FORMAT } from "./formats.js";
import { instancePath, lastToken, parentLocation, schemaAt } from "./locations.js";
import type { CompiledSchema, SchemaValidationError } from "./types.js";
import { isPlainObject, jsonTypeOf, show, type Obj } from "./values.js";

/** An error with what a `type` failure was about (so an anyOf of types can be said as one type error). */
export type Described = SchemaValidationError & { types?: string[]; got?: string };

export interface Reader {
  compiled: CompiledSchema;
  /** The instance value at a library instance location. */
  valueAt(location: string): unknown;
}

function typeList(t: unknown): string[] {
  return Array.isArray(t) ? t.map(String) : [String(t)];
}

/** The message for a keyword unit that is not a wrapper or a group (undefined: nothing to say). */
export function describeOne(r: Reader, u: OutputUnit, path: string): Described | undefined {
  const node = schemaAt(r.compiled, parentLocation(u.keywordLocation)) as Obj | undefined;
  const kw = node && typeof node === "object" ? node[u.keyword] : undefined;
  const value = r.valueAt(u.instanceLocation);
  const at = (message: string) => ({ path, message });
  const num = (re: RegExp) => re.exec(u.error)?.[1];
  switch (u.keyword) {
    case "type": {
      const types = typeList(kw);
      const got = jsonTypeOf(value);
      return { path, message: `expected ${types.join(" or ")}, got ${got}`, types, got };
    }
    case "enum":
      return at(`expected one of ${show(kw, 120)}, got ${show(value)}`);
    case "const":
      return at(`expected ${show(kw)}, got ${show(value)}`);
    case "minLength":
    case "maxLength": {
      const len = typeof value === "string" ? [...value].length : 0;
      return at(u.keyword === "minLength" ? `string is ${len} characters, need at least ${kw}` : `string is ${len} characters, allowed at most ${kw}`);
    }
    case "pattern":
      return at(`${show(value)} does not match pattern /${kw}/`);
    case "format":
      return at(`${show(value)} does not match format ${show(kw === URI_FORMAT ? "uri" : kw)}`);
    case "minimum":
      return at(node?.exclusiveMinimum === true ? `${value} is not greater than the exclusive minimum ${kw}` : `${value} is less than the minimum ${kw}`);
    case "maximum":
      return at(node?.exclusiveMaximum === true ? `${value} is not less than the exclusive maximum ${kw}` : `${value} is greater than the maximum ${kw}`);
    case "exclusiveMinimum":
      return at(`${value} is not greater than the exclusive minimum ${kw}`);
    case "exclusiveMaximum":
      return at(`${value} is not less than the exclusive maximum ${kw}`);
    case "multipleOf":
      return at(`${value} is not a multiple of ${kw}`);
    case "minItems":
    case "maxItems": {
      const n = Array.isArray(value) ? value.length : 0;
      return at(u.keyword === "minItems" ? `array has ${n} items, need at least ${kw}` : `array has ${n} items, allowed at most ${kw}`);
    }
    case "uniqueItems": {
      const m = /indexes (\d+) and (\d+)/.exec(u.error);
      return at(m ? `items ${m[1]} and ${m[2]} are equal, but uniqueItems is true` : "items are not unique, but uniqueItems is true");
    }
    case "contains":
      return at(`no item matches the "contains" schema`);
    case "minContains": {
      const found = num(/Only (\d+) items/);
      return at(found !== undefined ? `only ${found} items match the "contains" schema, need at least ${kw}` : `array has ${Array.isArray(value) ? value.length : 0} items, need at least ${kw} that match the "contains" schema`);
    }
    case "maxContains":
      return at(`${num(/(\d+) items were found/) ?? "more"} items match the "contains" schema, allowed at most ${kw}`);
    case "required": {
      const key = /^Instance does not have required property "(.*)"\.$/s.exec(u.error)?.[1];
      return at(`missing required property ${show(key ?? "?")}`);
    }
    case "minProperties":
    case "maxProperties": {
      const n = isPlainObject(value) ? Object.keys(value).length : 0;
      return at(u.keyword === "minProperties" ? `object has ${n} properties, need at least ${kw}` : `object has ${n} properties, allowed at most ${kw}`);
    }
    case "dependentRequired":
    case "dependencies": {
      const m = /^Instance has "(.*)" but does not have "(.*)"\.$/s.exec(u.error);
      return at(m ? `property ${show(m[1])} requires property ${show(m[2])}, which is missing` : u.error);
    }
    case "not": {
      const holder = parentLocation(u.keywordLocation);
      if (node && FALSE_SCHEMAS.has(node)) {
        const where = lastToken(holder);
        if (where === "additionalProperties" || where === "unevaluatedProperties") {
          return { path: instancePath(parentLocation(u.instanceLocation)), message: `unexpected property ${show(lastToken(u.instanceLocation))} (${where} is false)` };
        }
        return at("no value is allowed here (schema is false)");
      }
      return at(`matches the schema under "not", which is not allowed`);
    }
    case "false":
      return at("no value is allowed here (schema is false)");
    default:
      return at(u.error);
  }
}
