import { describe, expect, test } from "vitest";
import { jsonDepth, MAX_JSON_DEPTH } from "./jsonLimits.js";

const nest = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

describe("jsonDepth", () => {
  test("counts arrays and objects, not brackets inside strings (escaped quotes included)", () => {
    expect(jsonDepth("1")).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth(JSON.stringify({ s: "[[[[{{{{\\\"[[[[" }))).toBe(1);
    expect(jsonDepth(JSON.stringify({ a: ['"]]]"', { b: [[["x"]]] }] }))).toBe(6);
  });

  test("stops just past the limit, without recursion, on a body far deeper than any stack", () => {
    expect(jsonDepth(nest(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth(nest(2_000_000))).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonDepth(nest(40), 100)).toBe(40);
  });
});
