import { describe, expect, test } from "vitest";
import { z } from "zod";
import { defineKSA, toRegistryEntry } from "./define.js";
import { KsaDefinitionError } from "./errors.js";
import type { KsaDefinition } from "./types.js";

const ok = (): KsaDefinition => ({
  name: "notes",
  description: "Keeps notes.",
  category: "project",
  defaultAllowed: false,
  functions: {
    add: { description: "Adds a note.", params: z.object({ text: z.string() }), result: z.number(), local: async () => 1 },
  },
});

describe("defineKSA", () => {
  test("accepts a valid definition and returns it", () => {
    const def = ok();
    expect(defineKSA(def)).toBe(def);
  });

  test.each([
    ["an uppercase first letter", { name: "Notes" }, /defineKSA\("Notes"\): the name must match/],
    ["a space", { name: "my notes" }, /the name must match/],
    ["a 65-character name", { name: `a${"b".repeat(64)}` }, /the name must match/],
    ["a reserved name", { name: "then" }, /"then" is reserved/],
    ["an empty description", { description: "  " }, /defineKSA\("notes"\): the description is empty/],
    ["an unknown category", { category: "misc" }, /unknown category "misc"/],
    ["no functions", { functions: {} }, /defineKSA\("notes"\): it has no functions/],
  ])("rejects %s", (_what, patch, message) => {
    expect(() => defineKSA({ ...ok(), ...patch } as KsaDefinition)).toThrow(message);
  });

  const withFn = (fnName: string, fn: Record<string, unknown>) =>
    ({ ...ok(), functions: { [fnName]: { description: "d", params: z.object({}), result: z.string(), ...fn } } }) as KsaDefinition;

  test("rejects a function name that is not an identifier", () => {
    expect(() => defineKSA(withFn("read-file", { local: async () => "" }))).toThrow(
      /defineKSA\("notes"\): function "read-file": the name must be a JavaScript identifier/,
    );
  });

  test("rejects a function with both local and gateway, or neither", () => {
    expect(() => defineKSA(withFn("f", { local: async () => "", gateway: true }))).toThrow(/function "f": give exactly one of `local`/);
    expect(() => defineKSA(withFn("f", {}))).toThrow(/function "f": give exactly one of `local`/);
  });

  test("rejects params that are not a zod object, and a missing result", () => {
    expect(() => defineKSA(withFn("f", { local: async () => "", params: z.string() }))).toThrow(
      /function "f": params must be a zod object schema/,
    );
    expect(() => defineKSA(withFn("f", { local: async () => "", params: { path: "string" } }))).toThrow(/params must be a zod object/);
    expect(() => defineKSA(withFn("f", { local: async () => "", result: undefined }))).toThrow(/function "f": result must be a zod schema/);
  });

  test("rejects an empty function description and a gateway that is not `true`", () => {
    expect(() => defineKSA(withFn("f", { local: async () => "", description: "" }))).toThrow(/function "f": the description is empty/);
    expect(() => defineKSA(withFn("f", { gateway: "yes" }))).toThrow(/`gateway` must be `true`/);
  });

  test("rejects schemas that JSON Schema cannot express", () => {
    expect(() => defineKSA(withFn("f", { local: async () => "", result: z.date() }))).toThrow(/result cannot be expressed as JSON Schema/);
  });

  test("throws KsaDefinitionError", () => {
    expect(() => defineKSA({ ...ok(), name: "" })).toThrow(KsaDefinitionError);
  });
});

describe("toRegistryEntry", () => {
  test("turns params and results into JSON Schema; optional and defaulted params are not required", () => {
    const def = defineKSA({
      ...ok(),
      functions: {
        add: {
          description: "Adds.",
          params: z.strictObject({ text: z.string().min(1), tag: z.string().optional(), n: z.number().int().default(3) }),
          result: z.object({ id: z.string() }),
          gateway: true,
        },
      },
    });
    const entry = toRegistryEntry(def);
    expect(entry).toMatchObject({ name: "notes", description: "Keeps notes.", category: "project", defaultAllowed: false });
    const [fn] = entry.functions;
    expect(fn).toMatchObject({ name: "add", description: "Adds.", gateway: true });
    expect(fn.params).toEqual({
      type: "object",
      properties: { text: { type: "string", minLength: 1 }, tag: { type: "string" }, n: { type: "integer", default: 3, minimum: expect.any(Number), maximum: expect.any(Number) } },
      required: ["text"],
      additionalProperties: false,
    });
    expect(fn.result).toMatchObject({ type: "object", properties: { id: { type: "string" } }, required: ["id"] });
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry);
  });
});
