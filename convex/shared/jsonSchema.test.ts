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

  test.each(["http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema"])(
    "a $ref to a boolean sub-schema compiles and validates as that boolean (%s)",
    (dialect) => {
      // Drafts 4 and 7 once threw a TypeError here (the cycle check was handed `true`), so a deliverable's
      // schema crashed QA's declaration check instead of compiling.
      const defs = dialect.includes("draft-04") ? "definitions" : "$defs";
      const yes = compileSchema({ $schema: dialect, $ref: `#/${defs}/yes`, [defs]: { yes: true } });
      expect(yes.ok).toBe(true);
      if (yes.ok) expect(validateWithSchema(yes.schema, { any: 1 })).toEqual([]);
      const no = compileSchema({ $schema: dialect, properties: { a: { $ref: `#/${defs}/no` } }, [defs]: { no: false } });
      expect(no.ok).toBe(true);
      if (no.ok) expect(validateWithSchema(no.schema, { a: 1 }).length).toBeGreaterThan(0);
    },
  );

  test("keywords the validator does not implement are rejected, with their location", () => {
    expect(UNSUPPORTED_KEYWORDS).toEqual(["$dynamicRef"]);
    const problems = schemaProblems({
      type: "object",
      properties: { tags: { type: "array", items: { $dynamicRef: "#node" } } },
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^#\/properties\/tags\/items: unsupported keyword "\$dynamicRef"/);
  });

  test.each([
    ["$ref", { $defs: { s: { type: "string" } }, $ref: "#/$defs/s" }],
    ["oneOf", { oneOf: [{ type: "string" }, { type: "number" }] }],
    ["anyOf", { anyOf: [{ type: "string" }] }],
    ["allOf", { allOf: [{ type: "string" }] }],
    ["not", { not: { type: "null" } }],
    ["if", { if: { type: "string" }, then: { minLength: 1 }, else: { type: "number" } }],
    ["uniqueItems", { type: "array", uniqueItems: true }],
    ["patternProperties", { type: "object", patternProperties: { "^x-": { type: "string" } } }],
    ["exclusiveMinimum", { exclusiveMinimum: 0, exclusiveMaximum: 10, multipleOf: 0.5 }],
    ["prefixItems", { prefixItems: [{ type: "string" }], items: { type: "number" } }],
  ])("%s is now a supported keyword", (_kw, schema) => {
    expect(schemaProblems(schema)).toEqual([]);
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
    expect(() => validateJson({ $dynamicRef: "#x" }, 1)).toThrow(/^invalid JSON Schema: #: unsupported keyword "\$dynamicRef"/);
    expect(() => validateJson({ oneOf: [] }, 1)).toThrow("invalid JSON Schema: #/oneOf: must be a non-empty array of schemas");
    expect(validateJson('{"type":"string"}', 1)).toEqual(["/: expected string, got number"]);
    expect(validateJson({ type: "string" }, "ok")).toEqual([]);
  });
});

describe("references and composition", () => {
  test("$ref into $defs, with errors at the value's path", () => {
    const s = {
      $defs: { item: { type: "object", required: ["sku"], properties: { sku: { type: "string" } } } },
      type: "object",
      properties: { items: { type: "array", items: { $ref: "#/$defs/item" } } },
    };
    expect(schemaProblems(s)).toEqual([]);
    expect(errors(s, { items: [{ sku: "a" }] })).toEqual([]);
    expect(errors(s, { items: [{ sku: 1 }, {}] })).toEqual(["/items/0/sku: expected string, got number", '/items/1: missing required property "sku"']);
  });

  test("$ref into draft-07 definitions, to the root (recursion) and to an $anchor", () => {
    const d7 = { $schema: "http://json-schema.org/draft-07/schema#", definitions: { n: { type: "number" } }, items: { $ref: "#/definitions/n" } };
    expect(errors(d7, [1, "x"])).toEqual(["/1: expected number, got string"]);
    const tree = { type: "object", required: ["name"], properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#" } } } };
    expect(errors(tree, { name: "a", children: [{ name: "b", children: [{ name: "c" }] }] })).toEqual([]);
    expect(errors(tree, { name: "a", children: [{ name: "b", children: [{}] }] })).toEqual(['/children/0/children/0: missing required property "name"']);
    const anchored = { $id: "https://example.com/s.json", $defs: { id: { $anchor: "id", type: "string", pattern: "^id_" } }, $ref: "#id" };
    expect(errors(anchored, "id_1")).toEqual([]);
    expect(errors(anchored, "x")).toEqual(['/: "x" does not match pattern /^id_/']);
  });

  test("anyOf: one message saying why each alternative failed; types collapse like a type array", () => {
    const nullable = { anyOf: [{ type: "string" }, { type: "null" }] };
    expect(errors(nullable, null)).toEqual([]);
    expect(errors(nullable, 3)).toEqual(["/: expected string or null, got number"]);
    const s = { type: "object", properties: { v: { anyOf: [{ type: "string", minLength: 3 }, { type: "object", required: ["a"] }] } } };
    expect(errors(s, { v: "abc" })).toEqual([]);
    expect(errors(s, { v: "ab" })).toEqual([
      "/v: matches none of the 2 anyOf alternatives: [0] string is 2 characters, need at least 3; [1] expected object, got string",
    ]);
    expect(errors(s, { v: { b: { c: 1 } } })).toEqual([
      '/v: matches none of the 2 anyOf alternatives: [0] expected string, got object; [1] missing required property "a"',
    ]);
  });

  test("oneOf: none or more than one alternative matching", () => {
    const s = { oneOf: [{ type: "number", minimum: 5 }, { type: "integer" }] };
    expect(errors(s, 7.5)).toEqual([]);
    expect(errors(s, 2)).toEqual([]);
    expect(errors(s, 7)).toEqual(["/: matches 2 of the oneOf alternatives ([0], [1]); it must match exactly one"]);
    expect(errors(s, 1.5)).toEqual(["/: matches none of the 2 oneOf alternatives: [0] 1.5 is less than the minimum 5; [1] expected integer, got number"]);
  });

  test("allOf: every sub-schema's errors, nested paths shown inside alternatives", () => {
    expect(errors({ allOf: [{ required: ["a"] }, { required: ["b"] }] }, {})).toEqual(['/: missing required property "a"', '/: missing required property "b"']);
    const s = { anyOf: [{ type: "string" }, { type: "object", properties: { n: { type: "number" } } }] };
    expect(errors(s, { n: "1" })).toEqual(["/: matches none of the 2 anyOf alternatives: [0] expected string, got object; [1] /n: expected number, got string"]);
  });

  test("not and if/then/else", () => {
    expect(errors({ not: { type: "null" } }, 1)).toEqual([]);
    expect(errors({ not: { type: "null" } }, null)).toEqual(['/: matches the schema under "not", which is not allowed']);
    const s = { if: { properties: { kind: { const: "a" } } }, then: { required: ["x"] }, else: { required: ["y"] } };
    expect(errors(s, { kind: "a", x: 1 })).toEqual([]);
    expect(errors(s, { kind: "a" })).toEqual(['/: missing required property "x"']);
    expect(errors(s, { kind: "b" })).toEqual(['/: missing required property "y"']);
  });

  test("a type error at a node hides the rest of that node, including its alternatives", () => {
    const s = { type: "object", required: ["a"], anyOf: [{ required: ["b"] }], enum: [{ a: 1 }] };
    expect(errors(s, "x")).toEqual(["/: expected object, got string"]);
  });
});

describe("more assertion keywords", () => {
  test("uniqueItems compares items structurally", () => {
    const s = { type: "array", uniqueItems: true };
    expect(errors(s, [1, "1", { a: 1 }, { a: 2 }])).toEqual([]);
    expect(errors(s, [1, 2, 1])).toEqual(["/: items 0 and 2 are equal, but uniqueItems is true"]);
    expect(errors(s, [{ a: [1] }, { a: [1] }])).toEqual(["/: items 0 and 1 are equal, but uniqueItems is true"]);
  });

  test("format: date, date-time, email, uri, uuid are checked; unknown formats are annotations", () => {
    const s = {
      type: "object",
      properties: {
        d: { type: "string", format: "date" },
        t: { type: "string", format: "date-time" },
        e: { type: "string", format: "email" },
        u: { type: "string", format: "uri" },
        id: { type: "string", format: "uuid" },
        x: { type: "string", format: "x-lakitu-unknown" },
      },
    };
    const good = { d: "2024-02-29", t: "2024-01-01T10:00:00Z", e: "ada@example.com", u: "https://example.com/a?b=c", id: "123e4567-e89b-12d3-a456-426614174000", x: "anything" };
    expect(errors(s, good)).toEqual([]);
    expect(errors(s, { d: "2023-02-29", t: "yesterday", e: "not-an-email", u: "no scheme here", id: "123" })).toEqual([
      '/d: "2023-02-29" does not match format "date"',
      '/t: "yesterday" does not match format "date-time"',
      '/e: "not-an-email" does not match format "email"',
      '/u: "no scheme here" does not match format "uri"',
      '/id: "123" does not match format "uuid"',
    ]);
    expect(errors({ format: "email" }, 42)).toEqual([]); // formats only apply to strings
  });

  test('format "uri" accepts what URL (and zod\'s z.url(), the KSA params\' source) accepts, IRIs included', () => {
    const s = { type: "string", format: "uri" };
    for (const ok of ["https://de.wikipedia.org/wiki/Köln", "https://例子.测试/x", "https://example.com/?q=a|b", "mailto:ada@example.com", "urn:isbn:0451450523"]) {
      expect(errors(s, ok)).toEqual([]);
    }
    expect(errors(s, "/relative/path")).toEqual(['/: "/relative/path" does not match format "uri"']);
    expect(errors({ type: "string", format: "uri-reference" }, "/relative/path")).toEqual([]);
  });

  test("const and enum of any JSON value", () => {
    expect(errors({ const: null }, null)).toEqual([]);
    expect(errors({ const: "x" }, "y")).toEqual(['/: expected "x", got "y"']);
    expect(errors({ enum: [1, "a", null, [1]] }, [1])).toEqual([]);
    expect(errors({ enum: [1, "a", null] }, 2)).toEqual(['/: expected one of [1,"a",null], got 2']);
  });

  test("patternProperties and additionalProperties together", () => {
    const s = { type: "object", properties: { id: { type: "string" } }, patternProperties: { "^x-": { type: "string" } }, additionalProperties: false };
    expect(errors(s, { id: "1", "x-a": "ok", "x-b": "ok" })).toEqual([]);
    expect(errors(s, { id: "1", "x-a": 1, y: 2 })).toEqual(["/x-a: expected string, got number", '/: unexpected property "y" (additionalProperties is false)']);
  });

  test("propertyNames, dependentRequired, min/maxProperties", () => {
    expect(errors({ type: "object", propertyNames: { pattern: "^[a-z]+$" } }, { ok: 1, BAD: 2 })).toEqual([
      '/: property name "BAD" is not allowed: "BAD" does not match pattern /^[a-z]+$/',
    ]);
    expect(errors({ type: "object", minProperties: 2, dependentRequired: { card: ["cvv"] } }, { card: "4242" })).toEqual([
      "/: object has 1 properties, need at least 2",
      '/: property "card" requires property "cvv", which is missing',
    ]);
    expect(errors({ maxProperties: 1 }, { a: 1, b: 2 })).toEqual(["/: object has 2 properties, allowed at most 1"]);
  });

  test("exclusive bounds (2020-12 numbers and draft-04 booleans) and multipleOf", () => {
    expect(errors({ exclusiveMinimum: 0, exclusiveMaximum: 1 }, 0.5)).toEqual([]);
    expect(errors({ exclusiveMinimum: 0 }, 0)).toEqual(["/: 0 is not greater than the exclusive minimum 0"]);
    expect(errors({ exclusiveMaximum: 1 }, 1)).toEqual(["/: 1 is not less than the exclusive maximum 1"]);
    const d4 = { $schema: "http://json-schema.org/draft-04/schema#", minimum: 0, exclusiveMinimum: true };
    expect(errors(d4, 0)).toEqual(["/: 0 is not greater than the exclusive minimum 0"]);
    expect(errors(d4, 0.1)).toEqual([]);
    expect(errors({ multipleOf: 0.5 }, 1.5)).toEqual([]);
    expect(errors({ multipleOf: 0.5 }, 0.3)).toEqual(["/: 0.3 is not a multiple of 0.5"]);
  });

  test("contains / minContains / maxContains report one verdict, not every other item", () => {
    expect(errors({ type: "array", contains: { type: "string" } }, [1, 2, "a"])).toEqual([]);
    expect(errors({ type: "array", contains: { type: "string" } }, [1, 2])).toEqual(['/: no item matches the "contains" schema']);
    expect(errors({ contains: { type: "string" }, minContains: 2 }, [1, "a"])).toEqual(['/: only 1 items match the "contains" schema, need at least 2']);
    expect(errors({ contains: { type: "string" }, maxContains: 1 }, ["a", "b"])).toEqual(['/: 2 items match the "contains" schema, allowed at most 1']);
  });

  test("prefixItems with items: false (2020-12 tuples); items as an array in draft-07", () => {
    const s = { type: "array", prefixItems: [{ type: "string" }, { type: "number" }], items: false };
    expect(errors(s, ["a", 1])).toEqual([]);
    expect(errors(s, ["a", "b", 3])).toEqual(["/1: expected number, got string", "/2: no value is allowed here (schema is false)"]);
    const d7 = { $schema: "http://json-schema.org/draft-07/schema#", items: [{ type: "string" }], additionalItems: { type: "number" } };
    expect(errors(d7, ["a", 1, "x"])).toEqual(["/2: expected number, got string"]);
  });

  test("a huge invalid document is checked in short-circuit mode and stays fast", () => {
    const many = Array.from({ length: 50_000 }, (_, i) => ({ n: i }));
    const s = compiled({ type: "array", items: { type: "object", properties: { n: { type: "string" } } } });
    const t = Date.now();
    expect(validateWithSchema(s, many).map(formatSchemaError)).toEqual(["/0/n: expected string, got number"]);
    expect(Date.now() - t).toBeLessThan(2000);
  });

  test("a value nested deeper than the stack allows is an error, not a crash", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const s = { $defs: { n: { anyOf: [{ type: "number" }, { type: "array", items: { $ref: "#/$defs/n" } }] } }, $ref: "#/$defs/n" };
    expect(errors(s, [[1], [[2]]])).toEqual([]);
    expect(errors(s, deep)).toEqual(["/: the value is nested too deeply to be checked against this schema"]);
  });
});

describe("bad schemas name the problem", () => {
  test("unresolvable and remote $refs", () => {
    expect(schemaProblems({ $ref: "#/$defs/missing" })).toEqual([
      '#/$ref: cannot resolve "#/$defs/missing"; only references inside this schema are supported (e.g. "#/$defs/name", "#/definitions/name", "#/properties/name" or an "$anchor")',
    ]);
    expect(schemaProblems({ properties: { a: { $ref: "https://example.com/other.json" } } })[0]).toMatch(
      /^#\/properties\/a\/\$ref: cannot resolve "https:\/\/example\.com\/other\.json"; only references inside this schema/,
    );
    expect(schemaProblems({ "x-shared": { type: "string" }, $ref: "#/x-shared" })[0]).toContain('does not point at a schema; put shared schemas under "$defs"');
    expect(schemaProblems({ $ref: 5 })[0]).toBe('#/$ref: must be a URI reference string like "#/$defs/name", got number');
  });

  test("reference cycles that never descend into the value", () => {
    const p = schemaProblems({ $defs: { a: { $ref: "#/$defs/b" }, b: { anyOf: [{ $ref: "#/$defs/a" }] } }, $ref: "#/$defs/a" });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^#\/\$defs\/a: reference cycle #\/\$defs\/a → #\/\$defs\/b → #\/\$defs\/b\/anyOf\/0 → #\/\$defs\/a never descends/);
    expect(schemaProblems({ allOf: [{ $ref: "#" }] })[0]).toContain("reference cycle");
    // recursion through properties/items is fine
    expect(schemaProblems({ properties: { next: { $ref: "#" } } })).toEqual([]);
  });

  test("malformed values of the newly supported keywords", () => {
    expect(schemaProblems({ anyOf: [] })).toEqual(["#/anyOf: must be a non-empty array of schemas"]);
    expect(schemaProblems({ oneOf: { type: "string" } })).toEqual(["#/oneOf: must be a non-empty array of schemas"]);
    expect(schemaProblems({ allOf: [5] })).toEqual(["#/allOf/0: a schema must be an object (or true/false), got number"]);
    expect(schemaProblems({ not: "string" })).toEqual(["#/not: a schema must be an object (or true/false), got string"]);
    expect(schemaProblems({ uniqueItems: "yes" })).toEqual(['#/uniqueItems: must be true or false, got "yes"']);
    expect(schemaProblems({ multipleOf: 0 })).toEqual(["#/multipleOf: must be a number greater than 0, got 0"]);
    expect(schemaProblems({ format: 1 })).toEqual(["#/format: must be a string, got number"]);
    expect(schemaProblems({ exclusiveMinimum: true })[0]).toContain("a boolean exclusiveMinimum is draft-04 syntax");
    expect(schemaProblems({ patternProperties: { "(": {} } })[0]).toMatch(/^#\/patternProperties\/\(: the property-name pattern does not compile/);
    expect(schemaProblems({ $defs: [] })).toEqual(["#/$defs: must be an object mapping names to schemas"]);
    expect(schemaProblems({ dependentRequired: { a: "b" } })).toEqual(["#/dependentRequired: must be an object mapping property names to arrays of property names"]);
    expect(schemaProblems({ minProperties: 2, maxProperties: 1 })[0]).toContain("minProperties (2) is greater than maxProperties (1)");
  });

  test("patterns must compile as Unicode regular expressions (how the validator runs them)", () => {
    expect(schemaProblems({ pattern: "^\\p{Lu}" })).toEqual([]);
    expect(schemaProblems({ pattern: "a\\-b" })[0]).toMatch(/^#\/pattern: does not compile \(.*Invalid escape.*\); JSON Schema patterns are JavaScript regular expressions with the "u" flag$/);
  });

  test("unknown dialects, bad identifiers, non-JSON input and oversized schemas", () => {
    expect(schemaProblems({ $schema: "https://json-schema.org/draft/2020-12/schema" })).toEqual([]);
    expect(schemaProblems({ $schema: "http://json-schema.org/draft-06/schema#" })).toEqual([]);
    expect(schemaProblems({ $schema: "http://example.com/mine" })[0]).toMatch(/^#\/\$schema: unknown JSON Schema dialect "http:\/\/example\.com\/mine"/);
    expect(schemaProblems({ $defs: { a: { $id: "https://x.test/a" }, b: { $id: "https://x.test/a" } } })[0]).toMatch(
      /^the schema's identifiers do not resolve \(Duplicate schema URI "https:\/\/x\.test\/a"\.\); check its "\$id"/,
    );
    expect(schemaProblems({ const: 1n })[0]).toMatch(/^the schema is not plain JSON/);
    const wide = { type: "object", properties: Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`p${i}`, { type: "string" }])) };
    expect(schemaProblems(wide)).toEqual(["#/properties/p9999: the schema has more than 10000 sub-schemas; simplify it"]);
  });

  test("validateJson throws naming every malformed keyword (references are resolved once the keywords are well-formed)", () => {
    expect(() => validateJson({ type: "object", properties: { a: { type: "strin" } }, anyOf: [] }, {})).toThrow(
      'invalid JSON Schema: #/properties/a/type: unknown type "strin"; use one of string, number, integer, boolean, object, array, null; #/anyOf: must be a non-empty array of schemas',
    );
    expect(() => validateJson({ properties: { a: { $ref: "#/nope" } } }, {})).toThrow(/^invalid JSON Schema: #\/properties\/a\/\$ref: cannot resolve "#\/nope"/);
  });
});
