import { describe, expect, test } from "vitest";
import {
  compileSchema,
  formatSchemaError,
  jsonEqual,
  parseSchema,
  schemaProblems,
  UNSUPPORTED_KEYWORDS,
  validateJson,
  validateWithSchema,
} from "./jsonSchema.js";

const order = {
  type: "object",
  required: ["id", "items"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: "^ord_[0-9]+$" },
    note: { type: ["string", "null"], maxLength: 10 },
    status: { enum: ["open", "paid"] },
    items: {
      type: "array",
      minItems: 1,
      maxItems: 3,
      items: {
        type: "object",
        required: ["sku", "price"],
        properties: {
          sku: { type: "string", minLength: 2 },
          price: { type: "number", minimum: 0, maximum: 100 },
          qty: { type: "integer" },
        },
      },
    },
  },
};

function compiled(schema: unknown) {
  const r = compileSchema(schema);
  if (!r.ok) throw new Error(r.problems.join("\n"));
  return r.schema;
}

function errors(schema: unknown, value: unknown): string[] {
  return validateWithSchema(compiled(schema), value).map(formatSchemaError);
}

describe("validation", () => {
  test("a valid document has no errors", () => {
    const doc = { id: "ord_1", note: null, status: "paid", items: [{ sku: "ab", price: 0, qty: 2 }] };
    expect(errors(order, doc)).toEqual([]);
  });

  test("type errors carry the JSON pointer of the value", () => {
    const doc = {
      id: "ord_1",
      items: [
        { sku: "ab", price: 1 },
        { sku: "cd", price: 2 },
        { sku: "ef", price: "3" },
      ],
    };
    expect(errors(order, doc)).toEqual(["/items/2/price: expected number, got string"]);
  });

  test("integer rejects fractions but number accepts integers", () => {
    expect(errors({ type: "integer" }, 1.5)).toEqual(["/: expected integer, got number"]);
    expect(errors({ type: "integer" }, 2)).toEqual([]);
    expect(errors({ type: "number" }, 2)).toEqual([]);
  });

  test("type arrays accept any listed type", () => {
    const s = { type: ["string", "null"] };
    expect(errors(s, null)).toEqual([]);
    expect(errors(s, "x")).toEqual([]);
    expect(errors(s, 3)).toEqual(["/: expected string or null, got number"]);
    expect(errors({ type: "array" }, {})).toEqual(["/: expected array, got object"]);
    expect(errors({ type: "object" }, [])).toEqual(["/: expected object, got array"]);
    expect(errors({ type: "boolean" }, "true")).toEqual(["/: expected boolean, got string"]);
    expect(errors({ type: "null" }, 0)).toEqual(["/: expected null, got number"]);
  });

  test("a wrong type reports only the type (other keywords would be noise)", () => {
    expect(errors({ type: "string", minLength: 5, pattern: "^a" }, 42)).toEqual(["/: expected string, got number"]);
  });

  test("required and additionalProperties: false", () => {
    expect(errors(order, { items: [{ sku: "ab", price: 1 }], extra: true })).toEqual([
      '/: missing required property "id"',
      '/: unexpected property "extra" (additionalProperties is false)',
    ]);
  });

  test("additionalProperties as a schema validates the extra properties", () => {
    const s = { type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "number" } };
    expect(errors(s, { a: "x", b: 1 })).toEqual([]);
    expect(errors(s, { a: "x", b: "no" })).toEqual(["/b: expected number, got string"]);
    expect(errors({ type: "object", additionalProperties: true }, { z: 1 })).toEqual([]);
  });

  test("minItems / maxItems are inclusive bounds", () => {
    const s = { type: "array", minItems: 1, maxItems: 2 };
    expect(errors(s, [])).toEqual(["/: array has 0 items, need at least 1"]);
    expect(errors(s, [1])).toEqual([]);
    expect(errors(s, [1, 2])).toEqual([]);
    expect(errors(s, [1, 2, 3])).toEqual(["/: array has 3 items, allowed at most 2"]);
  });

  test("items applies to every element", () => {
    expect(errors({ type: "array", items: { type: "string" } }, ["a", 1, "b", false])).toEqual([
      "/1: expected string, got number",
      "/3: expected string, got boolean",
    ]);
  });

  test("enum and const compare structurally", () => {
    expect(errors({ enum: ["open", "paid"] }, "paid")).toEqual([]);
    expect(errors({ enum: ["open", "paid"] }, "void")).toEqual(['/: expected one of ["open","paid"], got "void"']);
    expect(errors({ enum: [{ a: [1, 2] }] }, { a: [1, 2] })).toEqual([]);
    expect(errors({ const: { a: 1 } }, { a: 1 })).toEqual([]);
    expect(errors({ const: { a: 1 } }, { a: 2 })).toEqual(['/: expected {"a":1}, got {"a":2}']);
    expect(errors({ const: 1 }, "1")).toEqual(['/: expected 1, got "1"']);
  });

  test("minLength / maxLength count code points, inclusive", () => {
    const s = { type: "string", minLength: 2, maxLength: 3 };
    expect(errors(s, "a")).toEqual(["/: string is 1 characters, need at least 2"]);
    expect(errors(s, "ab")).toEqual([]);
    expect(errors(s, "abc")).toEqual([]);
    expect(errors(s, "😀😀😀")).toEqual([]); // 6 UTF-16 units, 3 code points
    expect(errors(s, "abcd")).toEqual(["/: string is 4 characters, allowed at most 3"]);
  });

  test("pattern is unanchored and reported with the value", () => {
    expect(errors({ type: "string", pattern: "[0-9]{3}" }, "abc123def")).toEqual([]);
    expect(errors({ type: "string", pattern: "^ord_" }, "x_ord_1")).toEqual(['/: "x_ord_1" does not match pattern /^ord_/']);
  });

  test("minimum / maximum are inclusive", () => {
    const s = { type: "number", minimum: 0, maximum: 10 };
    expect(errors(s, 0)).toEqual([]);
    expect(errors(s, 10)).toEqual([]);
    expect(errors(s, -0.5)).toEqual(["/: -0.5 is less than the minimum 0"]);
    expect(errors(s, 10.01)).toEqual(["/: 10.01 is greater than the maximum 10"]);
  });

  test("keyword checks only apply to their own value kind", () => {
    // minLength on a number, minimum on a string: not applicable, no error (JSON Schema semantics)
    expect(errors({ minLength: 3, minimum: 5 }, 7)).toEqual([]);
    expect(errors({ minLength: 3, minimum: 5 }, "abc")).toEqual([]);
  });

  test("property names are escaped in pointers", () => {
    const s = { type: "object", properties: { "a/b": { type: "string" }, "c~d": { type: "string" } } };
    expect(errors(s, { "a/b": 1, "c~d": 2 })).toEqual([
      "/a~1b: expected string, got number",
      "/c~0d: expected string, got number",
    ]);
  });

  test("boolean sub-schemas", () => {
    const s = { type: "object", properties: { never: false, always: true } };
    expect(errors(s, { always: [1] })).toEqual([]);
    expect(errors(s, { never: 1 })).toEqual(["/never: no value is allowed here (schema is false)"]);
  });

  test("the number of errors is capped", () => {
    const many = Array.from({ length: 50 }, (_, i) => i);
    const s = compiled({ type: "array", items: { type: "string" } });
    expect(validateWithSchema(s, many)).toHaveLength(20);
    expect(validateWithSchema(s, many, { maxErrors: 3 })).toHaveLength(3);
  });

  test("jsonEqual", () => {
    expect(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
  });
});

describe("declaration checks", () => {
  test("a schema using only supported and annotation keywords compiles", () => {
    expect(schemaProblems(order)).toEqual([]);
    expect(
      schemaProblems({ $schema: "https://json-schema.org/draft/2020-12/schema", title: "t", description: "d", format: "email" }),
    ).toEqual([]);
  });

  test.each(["$ref", "oneOf", "anyOf", "allOf", "not", "if"])("%s is rejected as an unsupported keyword", (kw) => {
    const problems = schemaProblems({ type: "object", [kw]: kw === "$ref" ? "#/x" : [{}] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`unsupported keyword "${kw}"`);
    expect(problems[0]).toContain("#:");
  });

  test("other unimplemented assertion keywords are rejected too", () => {
    expect(UNSUPPORTED_KEYWORDS).toContain("exclusiveMinimum");
    expect(schemaProblems({ type: "array", uniqueItems: true })[0]).toContain('unsupported keyword "uniqueItems"');
    expect(schemaProblems({ type: "object", patternProperties: {} })[0]).toContain('unsupported keyword "patternProperties"');
  });

  test("unsupported keywords are found in nested schemas, with their location", () => {
    const problems = schemaProblems({
      type: "object",
      properties: { tags: { type: "array", items: { anyOf: [{ type: "string" }] } } },
      additionalProperties: { not: { type: "null" } },
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^#\/properties\/tags\/items: unsupported keyword "anyOf"/);
    expect(problems[1]).toMatch(/^#\/additionalProperties: unsupported keyword "not"/);
  });

  test("a property merely named like a keyword is fine", () => {
    const s = { type: "object", properties: { $ref: { type: "string" }, oneOf: { type: "number" } } };
    expect(schemaProblems(s)).toEqual([]);
    expect(errors(s, { $ref: 1 })).toEqual(["/$ref: expected string, got number"]);
  });

  test("malformed keyword values are problems", () => {
    expect(schemaProblems({ type: "strin" })[0]).toContain('unknown type "strin"');
    expect(schemaProblems({ type: [] })[0]).toContain("/type");
    expect(schemaProblems({ required: true })[0]).toContain("#/required: must be an array");
    expect(schemaProblems({ properties: [] })[0]).toContain("#/properties");
    expect(schemaProblems({ minItems: -1 })[0]).toContain("#/minItems: must be a non-negative integer, got -1");
    expect(schemaProblems({ maxLength: 1.5 })[0]).toContain("#/maxLength");
    expect(schemaProblems({ minimum: "0" })[0]).toContain("#/minimum: must be a finite number");
    expect(schemaProblems({ pattern: "(" })[0]).toContain("#/pattern: does not compile");
    expect(schemaProblems({ enum: [] })[0]).toContain("#/enum: must be a non-empty array");
    expect(schemaProblems({ items: [{ type: "string" }] })[0]).toContain("tuple form");
    expect(schemaProblems({ additionalProperties: "no" })[0]).toContain("#/additionalProperties");
    expect(schemaProblems({ properties: { a: 5 } })[0]).toContain("#/properties/a: a schema must be an object");
  });

  test("contradictory bounds are problems", () => {
    expect(schemaProblems({ minItems: 3, maxItems: 2 })[0]).toContain("minItems (3) is greater than maxItems (2)");
    expect(schemaProblems({ minLength: 3, maxLength: 2 })[0]).toContain("minLength (3) is greater than maxLength (2)");
    expect(schemaProblems({ minimum: 3, maximum: 2 })[0]).toContain("minimum (3) is greater than maximum (2)");
  });

  test("the top level must be an object", () => {
    expect(schemaProblems([])).toEqual(["the schema must be a JSON object, got array"]);
    expect(schemaProblems(true)).toEqual(["the schema must be a JSON object, got boolean"]);
    expect(schemaProblems(null)).toEqual(["the schema must be a JSON object, got null"]);
  });

  test("excessively deep schemas are refused instead of recursing without bound", () => {
    let s: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 100; i++) s = { type: "array", items: s };
    expect(schemaProblems(s).join()).toContain("nested deeper than 64 levels");
  });

  test("parseSchema takes JSON text", () => {
    const bad = parseSchema("{type: 'object'}");
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]).toMatch(/^the schema is not valid JSON/);
    const good = parseSchema(JSON.stringify({ type: "object", required: ["a"] }));
    expect(good.ok).toBe(true);
    if (good.ok) expect(validateWithSchema(good.schema, {}).map(formatSchemaError)).toEqual(['/: missing required property "a"']);
  });

  test("validateJson throws on an unsupported schema and validates otherwise", () => {
    expect(() => validateJson({ oneOf: [] }, 1)).toThrow(/unsupported keyword "oneOf"/);
    expect(validateJson('{"type":"string"}', 1)).toEqual(["/: expected string, got number"]);
    expect(validateJson({ type: "string" }, "ok")).toEqual([]);
  });
});
