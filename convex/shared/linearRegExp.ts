/**
 * Runs a function with the global `RegExp` constructor replaced by one backed by re2js (linear time),
 * for libraries that build regular expressions from data with `new RegExp(source, flags)` and only
 * call `.test()` on them — @cfworker/json-schema does this for `pattern` and `patternProperties`,
 * which are matched against agent-written JSON. Regex literals and the engine's own intrinsics are
 * unaffected. Convex functions run one at a time per isolate and `fn` is synchronous, so the swap
 * cannot leak into other code.
 */
import { RE2JS } from "re2js";

type LinearRegExpLike = { source: string; flags: string; test(input: string): boolean };

export function withLinearRegExp<T>(fn: () => T): T {
  const original = globalThis.RegExp;
  const cache = new Map<string, RE2JS>();
  // Called with `new` by the library; returns a RegExp-like object whose `test` is linear.
  function LinearRegExp(source: string | RegExp, flags?: string): LinearRegExpLike {
    const src = typeof source === "string" ? source : source.source;
    const f = flags ?? "";
    if (/[^u]/.test(f)) throw new SyntaxError(`regular expression flags "${f}" are not supported here`);
    let re = cache.get(src);
    if (!re) {
      try {
        re = RE2JS.compile(src);
      } catch (e) {
        throw new SyntaxError(`pattern ${JSON.stringify(src.slice(0, 100))} is not supported by the linear-time engine: ${e instanceof Error ? e.message : String(e)}`);
      }
      cache.set(src, re);
    }
    const compiled = re;
    return { source: src, flags: f, test: (input: string) => compiled.test(String(input)) };
  }
  globalThis.RegExp = LinearRegExp as unknown as RegExpConstructor;
  try {
    return fn();
  } finally {
    globalThis.RegExp = original;
  }
}
