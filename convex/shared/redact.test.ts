import { describe, expect, test } from "vitest";
import { REDACTED, knownSecrets, makeRedactor, secretForms, secretNamesProblem } from "./redact.js";

const SECRET = "sk-live-Abc123/+xyz_SECRET-value";
const r = makeRedactor([SECRET]);

function b64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}
const urlSafe = (s: string) => s.replace(/\+/g, "-").replace(/\//g, "_");
const hex = (s: string) => Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

describe("redaction", () => {
  test("a literal secret is removed from text", () => {
    expect(r.text(`key=${SECRET}; again ${SECRET}`)).toBe(`key=${REDACTED}; again ${REDACTED}`);
  });

  test("base64, standard and url-safe, at every alignment, padded or not, leaves no recognisable secret", () => {
    for (const prefix of ["", "a", "ab"]) {
      for (const suffix of ["", "z", "zz"]) {
        const std = b64(`${prefix}${SECRET}${suffix}`);
        for (const encoded of [std, std.replace(/=+$/, ""), urlSafe(std), urlSafe(std).replace(/=+$/, "")]) {
          const out = r.text(`blob:${encoded}:end`);
          expect(out, `prefix "${prefix}" suffix "${suffix}": ${encoded}`).toContain(REDACTED);
          // What is left of the encoding no longer decodes to the secret.
          expect(out).not.toContain(encoded);
        }
      }
    }
  });

  test("hex (lower and upper case), percent-encoding and JSON escaping are removed", () => {
    const jsonEscaped = makeRedactor(['pa"ss\\word-123']);
    expect(r.text(`h=${hex(SECRET)}`)).toBe(`h=${REDACTED}`);
    expect(r.text(`H=${hex(SECRET).toUpperCase()}`)).toBe(`H=${REDACTED}`);
    expect(r.text(`u=${encodeURIComponent(SECRET)}`)).toBe(`u=${REDACTED}`);
    expect(r.text(`u=${encodeURIComponent(SECRET).toLowerCase().replace(/%2f/g, "%2f")}`)).not.toContain("Abc123");
    expect(jsonEscaped.text(JSON.stringify({ p: 'pa"ss\\word-123' }))).toBe(`{"p":"${REDACTED}"}`);
  });

  test("object keys are redacted as well as values, at any depth, and colliding keys are kept apart", () => {
    const v = r.value({ [SECRET]: 1, nested: [{ [`x${SECRET}`]: SECRET }], [`${SECRET}!`]: 2 });
    const json = JSON.stringify(v);
    expect(json).not.toContain("Abc123");
    expect(v).toEqual({ [REDACTED]: 1, nested: [{ [`x${REDACTED}`]: REDACTED }], [`${REDACTED}!`]: 2 });
    const collide = makeRedactor(["secret-one-1", "secret-two-2"]).value({ "secret-one-1": 1, "secret-two-2": 2 });
    expect(Object.values(collide as object).sort()).toEqual([1, 2]);
    expect(JSON.stringify(r.value(JSON.parse('{"__proto__":{"a":1}}')))).toBe('{"__proto__":{"a":1}}');
    const clash = makeRedactor(["secret-one-1"]).value({ "secret-one-1": 1, "[REDACTED]": 2 });
    expect(Object.values(clash as object).sort()).toEqual([1, 2]);
  });

  test("Lakitu tokens and key-shaped strings are removed even when their value is not known", () => {
    const token = `lkt.abc123.${"A".repeat(43)}`;
    const none = makeRedactor([]);
    expect(none.text(`t ${token} k sk-${"x".repeat(20)} e e2b_${"y".repeat(20)} Bearer ${"z".repeat(20)}`)).toBe(
      `t ${REDACTED} k ${REDACTED} e ${REDACTED} ${REDACTED}`,
    );
  });

  test("short strings are not treated as secrets, and ordinary text is untouched", () => {
    const short = makeRedactor(["abc", undefined, ""]);
    expect(short.text("abc abc")).toBe("abc abc");
    expect(r.text("nothing to see here")).toBe("nothing to see here");
    expect(r.leaks("nothing")).toBe(false);
    expect(r.leaks(b64(SECRET))).toBe(true);
  });

  test("forms are bounded per secret and redaction of large text stays linear", () => {
    expect(secretForms(SECRET).length).toBeLessThanOrEqual(14);
    const big = "x".repeat(500_000) + SECRET;
    expect(r.text(big).endsWith(REDACTED)).toBe(true);
    // Pathological inputs for the key patterns complete (no catastrophic backtracking).
    const evil = `${"lkt.".repeat(20_000)}${"Bearer ".repeat(20_000)}${"sk-".repeat(20_000)}`;
    expect(makeRedactor([]).text(evil).length).toBeGreaterThan(0);
  });

  test("deeply nested values are cut, not walked without end", () => {
    let deep: unknown = SECRET;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(JSON.stringify(r.value(deep))).not.toContain("Abc123");
  });

  test("known secrets come from the token, the literal list and the named env vars (model keys always)", () => {
    const env = { OPENAI_API_KEY: "openai-key-1234", MY_SECRET: "app-secret-value", OTHER: "not-secret-value" };
    expect(knownSecrets(env, { token: "tok-12345678", redact: ["literal-1"], secretVars: ["MY_SECRET", "UNSET_VAR"] }).sort()).toEqual(
      ["app-secret-value", "literal-1", "openai-key-1234", "tok-12345678"].sort(),
    );
  });

  test("secret names must be env var names, not values", () => {
    expect(secretNamesProblem(["STRIPE_KEY", "_X1"])).toBeNull();
    expect(secretNamesProblem(["sk-live abc"])).toMatch(/secrets entry "sk-live abc" is not an environment variable name/);
    expect(secretNamesProblem(["1ABC"])).toMatch(/not starting with a digit/);
  });
});
