/** Reading the library's keyword and instance locations (URI-encoded JSON pointers): tokens, paths, targets. */
import type { OutputUnit, Schema } from "@cfworker/json-schema";
import type { CompiledSchema } from "./types.js";
import { pointerToken } from "./values.js";

/** `#/a~1b/0` (URI-encoded pointer tokens, as the library writes locations) → ["a/b", "0"]. */
export function tokens(location: string): string[] {
  const body = location.startsWith("#") ? location.slice(1) : location;
  if (body === "") return [];
  return body
    .slice(1)
    .split("/")
    .map((t) => {
      let s = t;
      try {
        s = decodeURIComponent(t);
      } catch {
        // keep the raw token
      }
      return s.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

/** The instance path Lakitu reports: a JSON pointer without the URI encoding ("" is the root). */
export function instancePath(location: string): string {
  return tokens(location)
    .map((t) => `/${pointerToken(t)}`)
    .join("");
}

export function parentLocation(location: string): string {
  const i = location.lastIndexOf("/");
  return i < 0 ? location : location.slice(0, i);
}

export function lastToken(location: string): string {
  const t = tokens(location);
  return t[t.length - 1] ?? "";
}

/** The schema value at a library keyword location (which follows `$ref`s through the `$ref` token). */
export function schemaAt(c: CompiledSchema, location: string): unknown {
  let cur: unknown = c.root;
  for (const t of tokens(location)) {
    if (cur === null || typeof cur !== "object") return undefined;
    const o = cur as Schema;
    if (t === "$ref" && typeof o.$ref === "string") cur = c.lookup[o.__absolute_ref__ ?? o.$ref];
    else if (t === "$recursiveRef") return undefined;
    else cur = (o as Record<string, unknown>)[t];
  }
  return cur;
}

export function valueIn(root: unknown, location: string): unknown {
  let cur = root;
  for (const t of tokens(location)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[t];
  }
  return cur;
}

export const isUnder = (u: OutputUnit, location: string) => u.keywordLocation.startsWith(`${location}/`);

/** `#/a/b/c` → ["#/a/b/c", "#/a/b", "#/a", "#"]. */
export function selfAndAncestors(location: string): string[] {
  const out = [location];
  for (let i = location.lastIndexOf("/"); i > 0; i = location.lastIndexOf("/", i - 1)) out.push(location.slice(0, i));
  return out;
}
