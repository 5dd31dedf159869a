/** Redaction is bounded: config `redact` and `secrets` lists have count and length caps, refused naming the field. */
import { describe, expect, test } from "vitest";
import { checkConfig } from "./validate.js";
import { MAX_REDACT_ENTRIES, MAX_REDACT_ENTRY_CHARS } from "../shared/defaults.js";

function refusal(patch: Parameters<typeof checkConfig>[0]): { code?: string; message?: string } | "accepted" {
  try {
    checkConfig(patch);
    return "accepted";
  } catch (e) {
    return (e as { data: { code: string; message: string } }).data;
  }
}

describe("redaction bounds", () => {
  test("redact: at most MAX_REDACT_ENTRIES entries of 4..MAX_REDACT_ENTRY_CHARS characters", () => {
    const entry = (i: number) => `prefix-${i}-`;
    expect(refusal({ redact: Array.from({ length: MAX_REDACT_ENTRIES }, (_, i) => entry(i)) })).toBe("accepted");
    expect(refusal({ redact: Array.from({ length: MAX_REDACT_ENTRIES + 1 }, (_, i) => entry(i)) })).toEqual({
      code: "invalid_argument",
      path: "redact",
      message: `redact has ${MAX_REDACT_ENTRIES + 1} entries; the limit is ${MAX_REDACT_ENTRIES} (list prefixes or whole secrets, not every variant)`,
    });
    expect(refusal({ redact: ["x".repeat(MAX_REDACT_ENTRY_CHARS)] })).toBe("accepted");
    expect(refusal({ redact: ["okay", "y".repeat(MAX_REDACT_ENTRY_CHARS + 1)] })).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining(`redact[1] is ${MAX_REDACT_ENTRY_CHARS + 1} characters; the limit is ${MAX_REDACT_ENTRY_CHARS}`),
    });
    expect(refusal({ redact: ["abc"] })).toMatchObject({ message: expect.stringContaining("at least 4 characters") });
  });

  test("secrets: at most 50 names, each an environment variable name of at most 128 characters", () => {
    expect(refusal({ secrets: Array.from({ length: 50 }, (_, i) => `KEY_${i}`) })).toBe("accepted");
    expect(refusal({ secrets: Array.from({ length: 51 }, (_, i) => `KEY_${i}`) })).toMatchObject({
      code: "invalid_argument",
      message: "secrets lists 51 names; the limit is 50",
    });
    expect(refusal({ secrets: ["K".repeat(129)] })).toMatchObject({ message: expect.stringContaining("is not an environment variable name") });
  });
});
