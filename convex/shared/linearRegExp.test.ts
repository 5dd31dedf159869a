/** JSON Schema `pattern`/`patternProperties` run on the linear-time engine: agent-written JSON cannot stall QA. */
import { describe, expect, test } from "vitest";
import { parseSchema, validateJson } from "./jsonSchema.js";
import { withLinearRegExp } from "./linearRegExp.js";

describe("linear-time JSON Schema patterns", () => {
  test("a catastrophic pattern answers at once (backtracking would take longer than the universe)", () => {
    const evil = `${"a".repeat(5_000)}!`;
    const schema = JSON.stringify({ type: "object", properties: { s: { type: "string", pattern: "^(a+)+$" } }, patternProperties: { "^(b|bb)+$": { type: "number" } } });
    expect(validateJson(schema, { s: evil })).toEqual([expect.stringContaining("/s: ")]);
    expect(validateJson(schema, { s: "aaaa" })).toEqual([]);
    expect(validateJson(schema, { [`${"b".repeat(5_000)}c`]: "x" })).toEqual([]);
    expect(validateJson(schema, { bbbb: "x" })).toEqual([expect.stringContaining("/bbbb")]);
  });

  test("patterns the linear engine cannot run are refused when the schema is saved", () => {
    const r = parseSchema(JSON.stringify({ type: "string", pattern: "(a)\\1" }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.join("; ")).toMatch(/pattern: does not compile \(on the linear-time engine, the pattern does not compile/);
    const look = parseSchema(JSON.stringify({ patternProperties: { "^(?!x)": {} } }));
    expect(!look.ok && look.problems.join("; ")).toContain("the property-name pattern does not compile");
  });

  test("the global RegExp is back after the call, even when the call throws", () => {
    const original = globalThis.RegExp;
    expect(() =>
      withLinearRegExp(() => {
        expect(globalThis.RegExp).not.toBe(original);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(globalThis.RegExp).toBe(original);
    expect(() => withLinearRegExp(() => new RegExp("(?=x)", "u"))).toThrow(SyntaxError);
  });
});
