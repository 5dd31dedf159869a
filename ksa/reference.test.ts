import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ksaReference, signature, typeOf } from "./reference.js";
import { KSA_REGISTRY } from "./registry.generated.js";

describe("ksaReference", () => {
  test("lists only the allowed KSAs, with an import line and one signature per function", () => {
    const ref = ksaReference(KSA_REGISTRY, ["file", "plan"]);
    expect(ref).toContain('import { file, plan } from "lakitu/ksa";');
    expect(ref).toContain("### file");
    expect(ref).toContain("### plan");
    expect(ref).toContain("`file.read({ path: string, maxBytes?: number }) → string`");
    expect(ref).toContain("`file.list({ path?: string }) → string[]`");
    expect(ref).toContain("`file.grep({ pattern: string, glob?: string, maxMatches?: number }) → { path: string, line: number, text: string }[]`");
    expect(ref).toContain('`plan.add({ title: string, kind?: "goal" | "deliverable" | "task" }) → { id: string, title: string, kind: "goal" | "deliverable" | "task", status: "todo" | "doing" | "done", note?: string }`');
    expect(ref).toMatch(/`plan\.get\(\) → \{ tasks: /);
    for (const absent of ["shell", "artifacts", "pdf", "web"]) {
      expect(ref).not.toContain(`### ${absent}`);
      expect(ref).not.toContain(`${absent}.`);
    }
  });

  test("follows registry order and exact names", () => {
    const ref = ksaReference(KSA_REGISTRY, ["web", "file"]);
    expect(ref.indexOf("### file")).toBeLessThan(ref.indexOf("### web"));
    expect(ref).toContain("web.fetch({ url: string, maxBytes?: number }) → { status: number, contentType: string, text: string, truncated: boolean }");
    expect(ksaReference(KSA_REGISTRY, ["files"])).not.toContain("### file");
  });

  test("says so when nothing is allowed", () => {
    expect(ksaReference(KSA_REGISTRY, [])).toContain("No KSAs are allowed in this stage");
  });

  test("imports nothing at runtime (the component loads it in Convex's default runtime)", async () => {
    const source = await readFile(join(import.meta.dirname, "reference.ts"), "utf8");
    const imports = source.match(/^import .*$/gm) ?? [];
    expect(imports.every((l) => l.startsWith("import type "))).toBe(true);
  });
});

describe("typeOf", () => {
  test("renders the JSON Schema shapes zod emits", () => {
    expect(typeOf({ anyOf: [{ type: "string" }, { type: "null" }] }, 0)).toBe("string | null");
    expect(typeOf({ type: ["number", "null"] }, 0)).toBe("number | null");
    expect(typeOf({ const: "x" }, 0)).toBe('"x"');
    expect(typeOf({ type: "array", items: { enum: ["a", "b"] } }, 0)).toBe('Array<"a" | "b">');
    expect(typeOf({ type: "object", additionalProperties: { type: "integer" } }, 0)).toBe("Record<string, number>");
    expect(typeOf({}, 0)).toBe("unknown");
    expect(signature("k", "f", { type: "object", properties: {} }, { type: "boolean" })).toBe("k.f() → boolean");
  });
});
