/** Content detection: sniffs and parses the bytes for a deliverable type; word counting. */
import type { DeliverableType } from "../validators.js";
import { asciiBytes, describeContent, indexOfBytes, PNG_SIGNATURE, startsWithBytes } from "./bytes.js";
import { ALL_TYPES } from "./constants.js";
import { csvShape } from "./csv.js";
import { jsonSyntaxError } from "./jsonSyntax.js";
import { cap, lineCol, plural, quote } from "./text.js";
import { decodeUtf8 } from "./utf8.js";

export type Inspection =
  | { ok: true; reason: string; text?: string; json?: unknown; csv?: { rows: number; header: string[] } }
  | { ok: false; reason: string };

export function inspectContent(type: DeliverableType, bytes: Uint8Array, delimiter = ","): Inspection {
  if (!ALL_TYPES.includes(type)) {
    return { ok: false, reason: `unknown deliverable type ${quote(String(type))}; use one of ${ALL_TYPES.join(", ")}` };
  }
  if (bytes.length === 0) return { ok: false, reason: "file is empty" };
  switch (type) {
    case "pdf": {
      if (!startsWithBytes(bytes, asciiBytes("%PDF-"))) {
        return { ok: false, reason: `expected a PDF: file does not start with %PDF- (${describeContent(bytes)})` };
      }
      if (indexOfBytes(bytes, asciiBytes("%%EOF"), bytes.length - 1024) < 0) {
        return { ok: false, reason: "expected a PDF: no %%EOF marker in the last 1024 bytes (truncated or still being written?)" };
      }
      return { ok: true, reason: "PDF header and %%EOF marker found" };
    }
    case "png":
      return startsWithBytes(bytes, PNG_SIGNATURE)
        ? { ok: true, reason: "PNG signature found" }
        : { ok: false, reason: `expected a PNG: missing the 8-byte PNG signature (${describeContent(bytes)})` };
    case "jpeg":
      return startsWithBytes(bytes, [0xff, 0xd8, 0xff])
        ? { ok: true, reason: "JPEG signature found" }
        : { ok: false, reason: `expected a JPEG: file does not start with FF D8 FF (${describeContent(bytes)})` };
    case "file":
      return { ok: true, reason: `${plural(bytes.length, "byte")} of content` };
    default:
      break;
  }

  // Text types: decode exactly once.
  if (type === "markdown" || type === "text") {
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      return { ok: false, reason: `expected ${type}: contains a NUL byte at offset ${nul} (binary data, ${describeContent(bytes)})` };
    }
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) {
    const looks = describeContent(bytes);
    return { ok: false, reason: `expected ${type}: ${decoded.reason}${looks.startsWith("it looks like") ? ` (${looks})` : ""}` };
  }
  const text = decoded.text;
  switch (type) {
    case "json": {
      try {
        const json: unknown = JSON.parse(text);
        const kind = json === null ? "null" : Array.isArray(json) ? "array" : typeof json;
        return { ok: true, reason: `valid JSON (${kind})`, text, json };
      } catch (e) {
        const where = jsonSyntaxError(text);
        if (where) {
          const { line, col } = lineCol(text, where.position);
          return {
            ok: false,
            reason: `invalid JSON at position ${where.position} (line ${line}, column ${col}): ${where.message}`,
          };
        }
        return { ok: false, reason: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
      }
    }
    case "csv": {
      const header: string[] = [];
      const shape = csvShape(text, delimiter, header);
      if (!shape.ok) return shape;
      const sep = delimiter === "," ? "" : `, delimiter ${quote(delimiter)}`;
      return {
        ok: true,
        reason: `valid CSV: ${plural(shape.rows, "row")} (including the header) x ${plural(shape.columns, "column")}${sep}`,
        text,
        csv: { rows: shape.rows, header },
      };
    }
    case "html":
      return /<[a-zA-Z!]/.test(text)
        ? { ok: true, reason: "UTF-8 text with HTML tags", text }
        : { ok: false, reason: "expected HTML: no tags found (nothing like <!DOCTYPE html>, <html> or <p>)" };
    default:
      return { ok: true, reason: `valid UTF-8 ${type} (${plural(text.length, "character")})`, text };
  }
}

/** Magic-byte / parse detection of a deliverable type. */
export function contentMatchesType(type: DeliverableType, bytes: Uint8Array): { ok: boolean; reason: string } {
  const r = inspectContent(type, bytes);
  return { ok: r.ok, reason: cap(r.reason) };
}

const UNICODE_SPACE = /\s/;

/** Whitespace-separated tokens (Unicode whitespace). */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space =
      c === 0x20 ||
      (c >= 0x09 && c <= 0x0d) ||
      (c > 0x7f && UNICODE_SPACE.test(text[i])); // NBSP, ideographic space, line separators, ...
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      n++;
    }
  }
  return n;
}
