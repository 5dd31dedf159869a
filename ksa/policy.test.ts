import { describe, expect, test } from "vitest";
import { BUILTIN_KSAS } from "./builtins/index.js";
import { KSA_REGISTRY } from "./registry.generated.js";
import { isKsaAllowed, resolveAllowed, unknownKsas } from "./policy.js";

describe("resolveAllowed", () => {
  test("a stage's own list wins, deduplicated, order kept", () => {
    expect(resolveAllowed(["web", "file", "web"], BUILTIN_KSAS)).toEqual(["web", "file"]);
  });

  test("an empty list allows no KSA at all (not the defaults, and so never shell)", () => {
    expect(resolveAllowed([], BUILTIN_KSAS)).toEqual([]);
    expect(resolveAllowed([], KSA_REGISTRY)).toEqual([]);
  });

  test("a missing list means the documented default: every defaultAllowed KSA, web not among them", () => {
    expect(resolveAllowed(undefined, BUILTIN_KSAS)).toEqual(["file", "shell", "artifacts", "plan", "pdf"]);
    expect(resolveAllowed(undefined, KSA_REGISTRY)).toEqual(["file", "shell", "artifacts", "plan", "pdf"]);
  });

  test("an already resolved list passes through unchanged (the runtime resolves what the component sent)", () => {
    const once = resolveAllowed(["plan"], KSA_REGISTRY);
    expect(resolveAllowed(once, BUILTIN_KSAS)).toEqual(["plan"]);
    expect(resolveAllowed(resolveAllowed([], KSA_REGISTRY), BUILTIN_KSAS)).toEqual([]);
  });
});

describe("isKsaAllowed and unknownKsas", () => {
  test("exact names only", () => {
    expect(isKsaAllowed(["file"], "file")).toBe(true);
    for (const n of ["files", "file2", "file.read", "fil", "File"]) expect(isKsaAllowed(["file"], n)).toBe(false);
  });

  test("unknownKsas lists each name not known, once, in order", () => {
    expect(unknownKsas(["file", "rm", "slug", "rm", "shel"], ["file", "shell", "slug"])).toEqual(["rm", "shel"]);
    expect(unknownKsas([], ["file"])).toEqual([]);
  });
});
