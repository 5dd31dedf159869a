/** Lakitu's own `format` entries, registered with the validator when this module loads. */
import { format as formats } from "@cfworker/json-schema";

/**
 * `format: "uri"` is checked as a URL that WHATWG `URL` parses (what `fetch` and zod's `z.url()`
 * accept, IRIs included), not with RFC 3986's grammar, which refuses e.g.
 * "https://de.wikipedia.org/wiki/Köln" that the sandbox's own zod check let through. The checked copy
 * of a schema names this format instead of "uri" (the library's own "uri" entry is left as it is).
 */
export const URI_FORMAT = "lakitu-uri";
formats[URI_FORMAT] = (s: string) => {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
};
