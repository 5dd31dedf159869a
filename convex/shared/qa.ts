/**
 * Deterministic deliverable QA: given the deliverables a stage declares and the artifacts a run
 * produced, decide — without any model in the loop — whether the run delivered.
 *
 * Pure TypeScript for Convex's default V8 runtime: no Node built-ins, no `Buffer`, no `eval`.
 *
 * Conventions the integrator should know:
 * - A deliverable matches the artifact whose `name` is exactly equal (first one wins if the
 *   artifact list has duplicates).
 * - `QaArtifact.size` is authoritative for `non_empty`, `min_bytes` and `max_bytes`; the content
 *   checks read `bytes`. If `bytes` holds fewer bytes than `size` (a truncated download) the
 *   `type` check fails with an explicit "only X of Y bytes" reason instead of passing unverified.
 *   `QaArtifact.type` (whatever the sandbox reported) is never trusted: content is sniffed.
 * - Order of checks per present deliverable: present, non_empty, type, min_bytes, max_bytes,
 *   min_words, max_words, json_schema, regex, contains, not_contains, min_rows, max_rows, columns,
 *   headings, min_pages, min_width, min_height. When `non_empty` or `type` fails, every later check of
 *   that deliverable is OMITTED (not emitted as failing): the failing check's reason already says
 *   what is wrong, and the rest would be noise.
 * - Words are whitespace-separated tokens of the raw text (markup and punctuation tokens count).
 * - `checks.regex` is an RE2 source (see regexCheck.ts: linear time, no backreferences or lookaround)
 *   compiled with no flags and tested (unanchored) against the decoded text, at most its first
 *   `MAX_REGEX_TEXT_CHARS` characters.
 * - `contains`/`notContains` are literal, case-sensitive substrings of the decoded text.
 * - CSV: `minRows`/`maxRows` count data rows (the header excluded); `columns` must each equal a header
 *   field after trimming both; `delimiter` is one of `CSV_DELIMITERS` (default ","); a UTF-8 BOM is
 *   ignored. Markdown `headings` match ATX headings by text (case-insensitive, any level).
 * - PDF `minPages` counts page objects (see `pdfPageCount`); `minWidth`/`minHeight` read the PNG IHDR
 *   chunk or the JPEG SOF marker.
 * - Failing reasons of those newer checks name the deliverable, what was found and what was required.
 * - Each artifact is decoded at most once and JSON is parsed at most once; reasons are capped at
 *   `MAX_REASON_CHARS` so a report stays small.
 */
import type { Deliverable, DeliverableType, QaCheck, QaReport } from "./validators.js";
import { formatSchemaError, parseSchema, validateWithSchema } from "./jsonSchema.js";
import { imageSize, pdfPageCount } from "./fileFacts.js";
import { compileRegex, testRegex } from "./regexCheck.js";

export interface QaArtifact {
  name: string;
  type?: string;
  size: number;
  bytes: Uint8Array;
  /**
   * Set when QA did not read the content (it is larger than QA reads; see convex/model/qaRead.ts): the
   * reason. A `file` deliverable passes its type check on the stored size; any other type fails it
   * with this reason.
   */
  unread?: string;
  /**
   * Set when `bytes` is a sample of a file larger than QA reads (its head, and for a PDF its tail):
   * what was sampled. The type is sniffed from it; checks that need the whole content are not run on it.
   */
  sniffed?: string;
}

export const MAX_REASON_CHARS = 300;
const MAX_SUMMARY_CHARS = 1000;
const TEXT_TYPES: readonly DeliverableType[] = ["markdown", "json", "csv", "text", "html"];
const ALL_TYPES: readonly DeliverableType[] = ["markdown", "json", "csv", "pdf", "png", "jpeg", "text", "html", "file"];
/** The CSV delimiters `checks.delimiter` accepts. */
export const CSV_DELIMITERS: readonly string[] = [",", ";", "\t", "|"];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// ---------------------------------------------------------------------------------------------
// Small helpers

/** One line, no control characters, at most `max` characters. */
function cap(s: string, max = MAX_REASON_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function quote(s: string, max = 80): string {
  const j = JSON.stringify(s);
  return j.length > max ? `${j.slice(0, max - 2)}…"` : j;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function isTextType(t: DeliverableType): boolean {
  return TEXT_TYPES.includes(t);
}

function startsWithBytes(bytes: Uint8Array, sig: readonly number[]): boolean {
  if (bytes.length < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[i] !== sig[i]) return false;
  return true;
}

function asciiBytes(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** Index of `needle` (ASCII) in `bytes[from..]`, or -1. */
function indexOfBytes(bytes: Uint8Array, needle: readonly number[], from = 0): number {
  const first = needle[0];
  const last = bytes.length - needle.length;
  for (let i = Math.max(0, from); i <= last; i++) {
    if (bytes[i] !== first) continue;
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function hex(bytes: Uint8Array, from: number, count: number): string {
  const out: string[] = [];
  for (let i = from; i < Math.min(bytes.length, from + count); i++) {
    out.push(bytes[i].toString(16).toUpperCase().padStart(2, "0"));
  }
  return out.join(" ");
}

/** A short description of what the bytes look like, for "expected X" reasons. */
function describeContent(bytes: Uint8Array): string {
  if (startsWithBytes(bytes, asciiBytes("%PDF-"))) return "it looks like a PDF";
  if (startsWithBytes(bytes, PNG_SIGNATURE)) return "it looks like a PNG image";
  if (startsWithBytes(bytes, [0xff, 0xd8, 0xff])) return "it looks like a JPEG image";
  if (startsWithBytes(bytes, asciiBytes("GIF8"))) return "it looks like a GIF image";
  if (startsWithBytes(bytes, [0x50, 0x4b, 0x03, 0x04])) return "it looks like a ZIP archive (docx/xlsx/zip)";
  if (startsWithBytes(bytes, asciiBytes("RIFF")) && indexOfBytes(bytes.subarray(8, 12), asciiBytes("WEBP")) === 0) {
    return "it looks like a WebP image";
  }
  const n = Math.min(bytes.length, 12);
  let printable = n > 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b < 0x20 || b > 0x7e) {
      if (b !== 0x09 && b !== 0x0a && b !== 0x0d) printable = false;
    }
  }
  if (printable) {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]);
    return `it starts with ${JSON.stringify(s)}${bytes.length > n ? "…" : ""}`;
  }
  return `it starts with bytes ${hex(bytes, 0, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// UTF-8

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated sequence
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c === undefined || c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1;
}

type Decoded = { ok: true; text: string } | { ok: false; reason: string };

/** Decodes once with a fatal decoder; on failure locates the first bad byte for the reason. */
function decodeUtf8(bytes: Uint8Array): Decoded {
  let text: string | null = null;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  // A runtime whose TextDecoder ignored `fatal` would have produced U+FFFD: verify in that case.
  const bad = text === null || text.includes("\uFFFD") ? firstInvalidUtf8(bytes) : -1;
  if (text !== null && bad < 0) return { ok: true, text };
  const at = bad < 0 ? 0 : bad;
  return {
    ok: false,
    reason: `not valid UTF-8: invalid byte sequence at offset ${at} (${hex(bytes, at, 4)}); save the file as UTF-8 text`,
  };
}

// ---------------------------------------------------------------------------------------------
// JSON syntax error location (only used after JSON.parse failed; iterative, bounded by the text)

function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: pos - lineStart + 1 };
}

function showChar(c: string | undefined): string {
  if (c === undefined) return "end of input";
  return JSON.stringify(c);
}

/** Finds the first JSON syntax error: `{ position, message }`, or null if the text is valid. */
export function jsonSyntaxError(s: string): { position: number; message: string } | null {
  const n = s.length;
  let i = 0;
  const OBJ = 1;
  const ARR = 2;
  const stack: number[] = [];
  const err = (message: string) => ({ position: i, message });
  const ws = () => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const scanString = (): { position: number; message: string } | null => {
    i++; // opening quote
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return null;
      }
      if (c === 0x5c) {
        const e = s[i + 1];
        if (e === undefined) break;
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
            i += 2;
            return err("invalid \\u escape in string (needs 4 hex digits)");
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) {
          i++;
          return err(`invalid escape \\${e} in string`);
        }
        i += 2;
        continue;
      }
      if (c < 0x20) return err("unescaped control character (e.g. a raw newline or tab) inside a string");
      i++;
    }
    return err("unterminated string");
  };
  const scanNumber = (): { position: number; message: string } | null => {
    const start = i;
    if (s[i] === "-") i++;
    if (s[i] === "0") i++;
    else if (s[i] !== undefined && s[i] >= "1" && s[i] <= "9") while (s[i] >= "0" && s[i] <= "9") i++;
    else return err(`invalid number ${JSON.stringify(s.slice(start, i + 1))}`);
    if (s[i] === ".") {
      i++;
      if (!(s[i] >= "0" && s[i] <= "9")) return err("invalid number: expected digits after the decimal point");
      while (s[i] >= "0" && s[i] <= "9") i++;
    }
    if (s[i] === "e" || s[i] === "E") {
      i++;
      if (s[i] === "+" || s[i] === "-") i++;
      if (!(s[i] >= "0" && s[i] <= "9")) return err("invalid number: expected digits in the exponent");
      while (s[i] >= "0" && s[i] <= "9") i++;
    }
    return null;
  };
  const expectKey = (): { position: number; message: string } | null => {
    ws();
    if (s[i] !== '"') {
      if (s[i] === "}") return err('unexpected "}" after a comma (trailing commas are not allowed in JSON)');
      if (s[i] === "'") return err("property names must use double quotes, not single quotes");
      return err(`expected a property name in double quotes, found ${showChar(s[i])}`);
    }
    const e = scanString();
    if (e) return e;
    ws();
    if (s[i] !== ":") return err(`expected ":" after the property name, found ${showChar(s[i])}`);
    i++;
    return null;
  };

  for (;;) {
    // Expect a value.
    ws();
    const c = s[i];
    let e: { position: number; message: string } | null = null;
    let opened = false;
    if (c === undefined) return err("unexpected end of input, expected a value");
    if (c === "{") {
      i++;
      ws();
      if (s[i] === "}") i++;
      else {
        stack.push(OBJ);
        e = expectKey();
        opened = true;
      }
    } else if (c === "[") {
      i++;
      ws();
      if (s[i] === "]") i++;
      else {
        stack.push(ARR);
        opened = true;
      }
    } else if (c === '"') e = scanString();
    else if (c === "-" || (c >= "0" && c <= "9")) e = scanNumber();
    else if (s.startsWith("true", i)) i += 4;
    else if (s.startsWith("false", i)) i += 5;
    else if (s.startsWith("null", i)) i += 4;
    else if (c === "]" || c === "}") return err(`unexpected ${showChar(c)}, expected a value (trailing comma?)`);
    else if (c === "'") return err("strings must use double quotes, not single quotes");
    else if (c === "/") return err("comments are not allowed in JSON");
    else return err(`unexpected ${showChar(c)}, expected a value`);
    if (e) return e;
    if (opened) continue;

    // After a complete value: close containers or move to the next element.
    for (;;) {
      ws();
      if (stack.length === 0) {
        if (i < n) return err(`unexpected ${showChar(s[i])} after the end of the JSON value`);
        return null;
      }
      const top = stack[stack.length - 1];
      const close = top === OBJ ? "}" : "]";
      if (i >= n) return err(`unexpected end of input, expected "," or "${close}"`);
      if (s[i] === ",") {
        i++;
        if (top === OBJ) {
          const ke = expectKey();
          if (ke) return ke;
        }
        break;
      }
      if (s[i] === close) {
        i++;
        stack.pop();
        continue;
      }
      return err(
        `expected "," or "${close}" after ${top === OBJ ? "a property value" : "an array element"}, found ${showChar(s[i])}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180)

type CsvShape = { ok: true; rows: number; columns: number } | { ok: false; reason: string };

/**
 * One pass over RFC 4180 text: fields separated by commas, records by CRLF/LF/CR, fields optionally
 * double-quoted with `""` escapes (quoted fields may contain commas and line breaks). A single
 * trailing line break does not start a new row. Every row must have the header's column count.
 */
export function csvShape(text: string, delimiter = ",", headerOut?: string[]): CsvShape {
  const n = text.length;
  const DELIM = delimiter.length === 1 ? delimiter.charCodeAt(0) : 0x2c;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 BOM is not part of the first field
  let line = 1;
  let row = 1;
  let headerCols = -1;
  let rows = 0;
  if (n === i) return { ok: false, reason: "expected CSV: no rows" };
  for (;;) {
    const rowLine = line;
    let fields = 0;
    let onlyEmptyUnquoted = true;
    // Parse one record.
    for (;;) {
      if (text.charCodeAt(i) === 0x22) {
        onlyEmptyUnquoted = false;
        const startLine = line;
        const open = i;
        i++;
        for (;;) {
          if (i >= n) {
            return {
              ok: false,
              reason: `expected CSV: row ${row} has an unterminated quoted field (opened on line ${startLine})`,
            };
          }
          const c = text.charCodeAt(i);
          if (c === 0x22) {
            if (text.charCodeAt(i + 1) === 0x22) {
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === 0x0a) line++;
          else if (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a) line++;
          i++;
        }
        if (headerCols < 0 && headerOut) headerOut.push(text.slice(open + 1, i - 1).replace(/""/g, '"'));
        const next = text.charCodeAt(i);
        if (i < n && next !== DELIM && next !== 0x0a && next !== 0x0d) {
          return {
            ok: false,
            reason:
              `expected CSV: row ${row} (line ${line}) has ${showChar(text[i])} right after a closing quote; ` +
              `inside a quoted field write a double quote as ""`,
          };
        }
      } else {
        const start = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === DELIM || c === 0x0a || c === 0x0d) break;
          if (c === 0x22) {
            return {
              ok: false,
              reason:
                `expected CSV: row ${row} (line ${line}) has a double quote inside an unquoted field; ` +
                `quote the whole field and write the quote as ""`,
            };
          }
          i++;
        }
        if (i > start) onlyEmptyUnquoted = false;
        if (headerCols < 0 && headerOut) headerOut.push(text.slice(start, i));
      }
      fields++;
      if (i < n && text.charCodeAt(i) === DELIM) {
        i++;
        continue;
      }
      break; // line break or end of input
    }
    // End of record.
    let atEnd = i >= n;
    if (!atEnd) {
      if (text.charCodeAt(i) === 0x0d && text.charCodeAt(i + 1) === 0x0a) i += 2;
      else i++;
      line++;
      atEnd = i >= n;
    }
    const blank = fields === 1 && onlyEmptyUnquoted;
    if (headerCols < 0) {
      if (blank) return { ok: false, reason: "expected CSV: the header row (row 1) is blank" };
      headerCols = fields;
    } else if (fields !== headerCols) {
      if (blank) {
        return {
          ok: false,
          reason: `expected CSV: row ${row} (line ${rowLine}) is blank, header has ${plural(headerCols, "column")}`,
        };
      }
      return {
        ok: false,
        reason: `expected CSV: row ${row} (line ${rowLine}) has ${plural(fields, "column")}, header has ${headerCols}`,
      };
    }
    rows++;
    row++;
    if (atEnd) break;
  }
  return { ok: true, rows, columns: headerCols };
}

// ---------------------------------------------------------------------------------------------
// Content detection

type Inspection =
  | { ok: true; reason: string; text?: string; json?: unknown; csv?: { rows: number; header: string[] } }
  | { ok: false; reason: string };

function inspectContent(type: DeliverableType, bytes: Uint8Array, delimiter = ","): Inspection {
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

// ---------------------------------------------------------------------------------------------
// Markdown headings

/** Heading text normalized for matching: leading `#`s dropped, whitespace collapsed, lower case. */
function normalizeHeading(s: string): string {
  return s.replace(/^\s*#{1,6}(?=\s|$)/, "").trim().replace(/\s+/g, " ").toLowerCase();
}

/**
 * The text of an ATX heading line (`## Title ##` → "Title"), or null. A scan, not a regex: the
 * equivalent regex backtracks quadratically on a long run of spaces or tabs in agent-written text.
 */
function atxHeading(raw: string): string | null {
  const ws = (c: string | undefined) => c === " " || c === "\t";
  let i = 0;
  while (i < 3 && raw[i] === " ") i++;
  let j = i;
  while (raw[j] === "#") j++;
  if (j === i || j - i > 6 || (j < raw.length && !ws(raw[j]))) return null;
  let end = raw.length;
  while (end > j && ws(raw[end - 1])) end--;
  let start = j;
  while (start < end && ws(raw[start])) start++;
  // An optional closing sequence of #s, preceded by a space or tab (or the whole text).
  let k = end;
  while (k > start && raw[k - 1] === "#") k--;
  if (k < end && (k === start || ws(raw[k - 1]))) end = k;
  return raw.slice(start, end).trim();
}

/**
 * The ATX headings (`#` .. `######`, up to 3 spaces of indent, optional closing `#`s) of a markdown
 * text, outside fenced code blocks. Setext headings (underlined with `===`/`---`) are not read.
 */
export function markdownHeadings(text: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  for (const raw of text.split(/\r\n|\n|\r/)) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(raw);
    if (f) {
      if (fence === null) fence = f[1];
      else if (f[1][0] === fence[0] && f[1].length >= fence.length && raw.trim() === f[1]) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const body = atxHeading(raw);
    if (body !== null) out.push(body);
  }
  return out;
}

function list(items: string[], max = 8): string {
  const shown = items.slice(0, max).map((x) => quote(x, 60));
  return items.length > max ? `${shown.join(", ")} and ${items.length - max} more` : shown.join(", ");
}

// ---------------------------------------------------------------------------------------------
// Declaration checks

function checkName(name: unknown): string[] {
  if (typeof name !== "string" || name.trim() === "") {
    return [`deliverable name is empty: set it to the artifact's file name relative to the output folder, e.g. "report.md"`];
  }
  const label = `deliverable ${quote(name)}`;
  const out: string[] = [];
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) out.push(`${label}: name contains control characters (newline, tab, ...); remove them`);
  if (name.includes("\\")) out.push(`${label}: name contains a backslash; use "/" as the folder separator`);
  if (name.startsWith("/")) out.push(`${label}: name must be relative to the output folder; remove the leading "/"`);
  const segments = name.split(/[\\/]/);
  if (segments.includes("..")) {
    out.push(`${label}: name must not contain a ".." segment; name a file inside the output folder, e.g. "out/report.md"`);
  }
  if (!name.startsWith("/") && (segments.includes(".") || segments.slice(0, -1).includes("") || name.endsWith("/"))) {
    // Matching is by exact name, so "./a.md", "a//b.md" or "dir/" would never match a produced artifact.
    out.push(`${label}: name has an empty or "." path segment (e.g. "./a.md", "a//b.md", "dir/"); write it like "dir/a.md"`);
  }
  return out;
}

/**
 * Problems with a deliverable's declaration; [] means it is valid. Never throws. `path` (e.g.
 * `stages[0].deliverables[1]`) makes the newer checks' problems name the field by its full path.
 */
export function deliverableProblems(d: Deliverable, path?: string): string[] {
  const out = checkName(d?.name);
  const label = `deliverable ${quote(typeof d?.name === "string" && d.name.trim() !== "" ? d.name : "")}`;
  const type = d?.type;
  if (!ALL_TYPES.includes(type)) {
    out.push(`${label}: unknown type ${quote(String(type))}; use one of ${ALL_TYPES.join(", ")}`);
  }
  const c = d?.checks;
  if (c === undefined || c === null) return out;
  const textual = ALL_TYPES.includes(type) ? isTextType(type) : true;

  for (const k of ["minBytes", "maxBytes", "minWords", "maxWords"] as const) {
    const v: unknown = c[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      out.push(`${label}: checks.${k} must be a non-negative integer, got ${String(v)}; use a whole number like 100`);
    }
  }
  const pairs = [
    ["minBytes", "maxBytes"],
    ["minWords", "maxWords"],
  ] as const;
  for (const [lo, hi] of pairs) {
    const a = c[lo];
    const b = c[hi];
    if (typeof a === "number" && typeof b === "number" && a > b) {
      out.push(`${label}: checks.${lo} (${a}) is greater than checks.${hi} (${b}), so nothing can pass; lower ${lo} or raise ${hi}`);
    }
  }
  if (c.maxBytes === 0) {
    out.push(`${label}: checks.maxBytes is 0 but a deliverable must be non-empty, so nothing can pass; raise maxBytes`);
  }
  if (!textual) {
    for (const k of ["minWords", "maxWords", "regex"] as const) {
      if (c[k] !== undefined) {
        out.push(
          `${label}: checks.${k} only applies to text types (${TEXT_TYPES.join(", ")}), not ${quote(String(type))}; remove it`,
        );
      }
    }
  }
  if (c.regex !== undefined) {
    const compiled = compileRegex(c.regex);
    if (!compiled.ok) out.push(`${path !== undefined ? `${path}.checks.regex` : `${label}: checks.regex`} ${compiled.problem}`);
  }
  if (c.jsonSchema !== undefined) {
    if (type !== "json") {
      out.push(`${label}: checks.jsonSchema only applies to type "json", not ${quote(String(type))}; remove it or change the type`);
    }
    if (typeof c.jsonSchema !== "string") {
      out.push(`${label}: checks.jsonSchema must be JSON text, e.g. JSON.stringify({ type: "object" })`);
    } else {
      let parsed: unknown;
      let parsedOk = true;
      try {
        parsed = JSON.parse(c.jsonSchema);
      } catch (e) {
        parsedOk = false;
        out.push(
          `${label}: checks.jsonSchema is not valid JSON (${e instanceof Error ? e.message : String(e)}); ` +
            `pass the schema as JSON text, e.g. JSON.stringify({ type: "object" })`,
        );
      }
      if (parsedOk) {
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
          const got = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
          out.push(`${label}: checks.jsonSchema must be a JSON object schema like {"type":"object"}, got ${got}`);
        } else {
          const compiled = parseSchema(c.jsonSchema);
          if (!compiled.ok) for (const p of compiled.problems) out.push(`${label}: checks.jsonSchema ${p}`);
        }
      }
    }
  }
  out.push(...newCheckProblems(c, type, path ?? null, label));
  return out;
}

/** Where a check applies: the deliverable types each newer check is meaningful for. */
const CHECK_TYPES: Record<string, readonly DeliverableType[]> = {
  contains: TEXT_TYPES,
  notContains: TEXT_TYPES,
  minRows: ["csv"],
  maxRows: ["csv"],
  columns: ["csv"],
  delimiter: ["csv"],
  headings: ["markdown"],
  minPages: ["pdf"],
  minWidth: ["png", "jpeg"],
  minHeight: ["png", "jpeg"],
};
const MAX_LIST_ENTRIES = 100;
const MAX_ENTRY_CHARS = 500;

/**
 * Problems with the CSV, markdown, text, PDF and image checks. Each names the field: with `path`
 * (e.g. `stages[0].deliverables[1]`) as `stages[0].deliverables[1].checks.minRows: ...`, else as
 * `deliverable "data.csv" checks.minRows: ...`.
 */
function newCheckProblems(c: Record<string, unknown>, type: DeliverableType, path: string | null, label: string): string[] {
  const out: string[] = [];
  const field = (k: string) => (path !== null ? `${path}.checks.${k}` : `${label} checks.${k}`);
  const known = ALL_TYPES.includes(type);
  for (const [k, types] of Object.entries(CHECK_TYPES)) {
    if (c[k] === undefined || !known || types.includes(type)) continue;
    const where = types.length === 1 ? `type ${quote(types[0])}` : `types ${types.map((t) => quote(t)).join(", ")}`;
    out.push(`${field(k)}: only applies to ${where}, not ${quote(type)}; remove it or change the type`);
  }
  for (const k of ["minRows", "maxRows", "minPages", "minWidth", "minHeight"]) {
    const v = c[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      out.push(`${field(k)}: must be a whole number ≥ 0, got ${typeof v === "string" ? quote(v) : String(v)}`);
    }
  }
  const whole = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (whole(c.minRows) && whole(c.maxRows) && c.minRows > c.maxRows) {
    out.push(`${field("minRows")}: ${c.minRows} is greater than checks.maxRows (${c.maxRows}), so nothing can pass; lower minRows or raise maxRows`);
  }
  for (const k of ["columns", "headings", "contains", "notContains"]) {
    const v = c[k];
    if (v === undefined) continue;
    const example = k === "columns" ? '["name", "price"]' : k === "headings" ? '["Summary", "Sources"]' : '["Conclusion"]';
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      out.push(`${field(k)}: must be an array of strings, e.g. ${example}`);
      continue;
    }
    if (v.length > MAX_LIST_ENTRIES) out.push(`${field(k)}: has ${v.length} entries; the limit is ${MAX_LIST_ENTRIES}`);
    v.forEach((x: string, i) => {
      if (x.trim() === "") out.push(`${field(k)}[${i}]: must not be empty`);
      else if (x.length > MAX_ENTRY_CHARS) out.push(`${field(k)}[${i}]: is ${x.length} characters; the limit is ${MAX_ENTRY_CHARS}`);
    });
  }
  if (c.delimiter !== undefined && (typeof c.delimiter !== "string" || !CSV_DELIMITERS.includes(c.delimiter))) {
    out.push(
      `${field("delimiter")}: unknown delimiter ${typeof c.delimiter === "string" ? quote(c.delimiter) : String(c.delimiter)}; use one of ${CSV_DELIMITERS.map((x) => quote(x)).join(", ")}`,
    );
  }
  if (Array.isArray(c.contains) && Array.isArray(c.notContains)) {
    for (const need of c.contains) {
      const clash = c.notContains.find((ban) => typeof ban === "string" && ban !== "" && typeof need === "string" && need.includes(ban));
      if (clash !== undefined) {
        out.push(`${field("contains")}: ${quote(String(need))} includes ${quote(clash)}, which checks.notContains forbids, so nothing can pass`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running the checks

function checkOne(d: Deliverable, artifact: QaArtifact, push: (check: string, ok: boolean, reason: string) => void): void {
  const bytes = artifact.bytes ?? new Uint8Array(0);
  const size = typeof artifact.size === "number" && Number.isFinite(artifact.size) && artifact.size >= 0 ? artifact.size : bytes.length;
  const c = d.checks ?? {};

  push("present", true, `produced (${plural(size, "byte")})`);

  if (size === 0) {
    push("non_empty", false, "file is empty (0 bytes)");
    return; // later checks omitted: see the header comment
  }
  push("non_empty", true, `${plural(size, "byte")}`);

  let inspection: Inspection;
  if (artifact.unread !== undefined) {
    inspection = d.type === "file" ? { ok: true, reason: `${plural(size, "byte")}; content not read (${artifact.unread})` } : { ok: false, reason: artifact.unread };
  } else if (artifact.sniffed !== undefined) {
    const sniff = inspectContent(d.type, bytes, ",");
    inspection = { ...sniff, reason: `${sniff.reason} (sniffed from ${artifact.sniffed} of ${plural(size, "byte")})` };
  } else if (bytes.length < size) {
    inspection = {
      ok: false,
      reason: `only ${bytes.length} of ${plural(size, "byte")} were available to check; cannot verify the content`,
    };
  } else {
    inspection = inspectContent(d.type, bytes, typeof c.delimiter === "string" && CSV_DELIMITERS.includes(c.delimiter) ? c.delimiter : ",");
  }
  push("type", inspection.ok, inspection.reason);
  if (!inspection.ok) return; // later checks omitted: see the header comment

  if (c.minBytes !== undefined) {
    const ok = size >= c.minBytes;
    push("min_bytes", ok, ok ? `${plural(size, "byte")} (min ${c.minBytes})` : `${plural(size, "byte")}, need at least ${c.minBytes}`);
  }
  if (c.maxBytes !== undefined) {
    const ok = size <= c.maxBytes;
    push("max_bytes", ok, ok ? `${plural(size, "byte")} (max ${c.maxBytes})` : `${plural(size, "byte")}, allowed at most ${c.maxBytes}`);
  }

  const text = inspection.text;
  const textual = isTextType(d.type) && text !== undefined;
  if (c.minWords !== undefined || c.maxWords !== undefined) {
    const words = textual ? countWords(text) : -1;
    if (c.minWords !== undefined) {
      if (!textual) push("min_words", false, `word counts only apply to text types, not ${quote(d.type)}`);
      else {
        const ok = words >= c.minWords;
        push("min_words", ok, ok ? `${plural(words, "word")} (min ${c.minWords})` : `${plural(words, "word")}, need at least ${c.minWords}`);
      }
    }
    if (c.maxWords !== undefined) {
      if (!textual) push("max_words", false, `word counts only apply to text types, not ${quote(d.type)}`);
      else {
        const ok = words <= c.maxWords;
        push("max_words", ok, ok ? `${plural(words, "word")} (max ${c.maxWords})` : `${plural(words, "word")}, allowed at most ${c.maxWords}`);
      }
    }
  }

  if (c.jsonSchema !== undefined) {
    if (d.type !== "json" || !("json" in inspection)) {
      push("json_schema", false, `jsonSchema only applies to type "json", not ${quote(d.type)}`);
    } else {
      const compiled = parseSchema(c.jsonSchema);
      if (!compiled.ok) {
        push("json_schema", false, `the stage's jsonSchema is not usable: ${compiled.problems.join("; ")}`);
      } else {
        const errors = validateWithSchema(compiled.schema, inspection.json, { maxErrors: 5 });
        if (errors.length === 0) push("json_schema", true, "matches the schema");
        else {
          const more = errors.length >= 5 ? " (first 5 shown)" : "";
          push(
            "json_schema",
            false,
            `${plural(errors.length, "schema error")}${more}: ${errors.map(formatSchemaError).join("; ")}`,
          );
        }
      }
    }
  }

  if (c.regex !== undefined) {
    if (!textual) push("regex", false, `regex only applies to text types, not ${quote(d.type)}`);
    else {
      const compiled = compileRegex(c.regex);
      if (!compiled.ok) push("regex", false, `the stage's regex ${compiled.problem}`);
      else {
        const r = testRegex(compiled.re, c.regex, text);
        push("regex", r.ok, r.reason);
      }
    }
  }

  const who = quote(d.name);
  if (c.contains !== undefined || c.notContains !== undefined) {
    const need = Array.isArray(c.contains) ? c.contains : [];
    const bannedList = Array.isArray(c.notContains) ? c.notContains : [];
    if (c.contains !== undefined) {
      if (!textual) push("contains", false, `contains only applies to text types, not ${quote(d.type)}`);
      else {
        const absent = need.filter((s) => !text.includes(s));
        push(
          "contains",
          absent.length === 0,
          absent.length === 0
            ? `contains all ${plural(need.length, "required string")}`
            : `${who} does not contain ${list(absent)} (${absent.length} of ${need.length} required strings missing; matching is case-sensitive)`,
        );
      }
    }
    if (c.notContains !== undefined) {
      if (!textual) push("not_contains", false, `notContains only applies to text types, not ${quote(d.type)}`);
      else {
        const found = bannedList.filter((s) => s !== "" && text.includes(s));
        if (found.length === 0) push("not_contains", true, `none of ${plural(bannedList.length, "forbidden string")} found`);
        else {
          const at = lineCol(text, text.indexOf(found[0]));
          push("not_contains", false, `${who} contains forbidden ${list(found)} (first at line ${at.line}, column ${at.col}); remove it`);
        }
      }
    }
  }

  if (c.minRows !== undefined || c.maxRows !== undefined || c.columns !== undefined) {
    const csv = "csv" in inspection ? inspection.csv : undefined;
    const dataRows = csv ? csv.rows - 1 : -1;
    const notCsv = `only applies to type "csv", not ${quote(d.type)}`;
    if (c.minRows !== undefined) {
      if (!csv) push("min_rows", false, `minRows ${notCsv}`);
      else {
        const ok = dataRows >= c.minRows;
        push("min_rows", ok, ok
          ? `${plural(dataRows, "data row")} (min ${c.minRows})`
          : `${who} has ${plural(dataRows, "data row")} (header excluded); minRows requires at least ${c.minRows}`);
      }
    }
    if (c.maxRows !== undefined) {
      if (!csv) push("max_rows", false, `maxRows ${notCsv}`);
      else {
        const ok = dataRows <= c.maxRows;
        push("max_rows", ok, ok
          ? `${plural(dataRows, "data row")} (max ${c.maxRows})`
          : `${who} has ${plural(dataRows, "data row")} (header excluded); maxRows allows at most ${c.maxRows}`);
      }
    }
    if (c.columns !== undefined) {
      if (!csv) push("columns", false, `columns ${notCsv}`);
      else {
        const have = csv.header.map((h) => h.trim());
        const absent = (Array.isArray(c.columns) ? c.columns : []).filter((col) => !have.includes(String(col).trim()));
        push("columns", absent.length === 0, absent.length === 0
          ? `header has ${list((c.columns ?? []).map((x) => String(x).trim()))}`
          : `${who} header lacks ${plural(absent.length, "required column")} ${list(absent)}; found ${list(have)}${
              have.length === 1 && c.delimiter === undefined && /[;\t|]/.test(have[0]) ? ' (is the delimiter not ","? set checks.delimiter)' : ""
            } (names must match exactly after trimming)`);
      }
    }
  }

  if (c.headings !== undefined) {
    if (d.type !== "markdown" || !textual) push("headings", false, `headings only applies to type "markdown", not ${quote(d.type)}`);
    else {
      const have = markdownHeadings(text);
      const normalized = new Set(have.map(normalizeHeading));
      const want = Array.isArray(c.headings) ? c.headings : [];
      const absent = want.filter((h) => !normalized.has(normalizeHeading(String(h))));
      push("headings", absent.length === 0, absent.length === 0
        ? `has ${plural(want.length, "required heading")}`
        : `${who} lacks ${plural(absent.length, "required heading")} ${list(absent)}; found ${have.length ? list(have) : "no headings"} (any level # to ######, case-insensitive)`);
    }
  }

  if (c.minPages !== undefined) {
    if (d.type !== "pdf") push("min_pages", false, `minPages only applies to type "pdf", not ${quote(d.type)}`);
    else {
      const pages = pdfPageCount(bytes);
      const ok = pages >= c.minPages;
      push("min_pages", ok, ok
        ? `${plural(pages, "page")} (min ${c.minPages})`
        : pages === 0
          ? `${who}: no page objects (/Type /Page) found; minPages requires at least ${c.minPages}`
          : `${who} has ${plural(pages, "page")}; minPages requires at least ${c.minPages}`);
    }
  }

  if (c.minWidth !== undefined || c.minHeight !== undefined) {
    const size = d.type === "png" || d.type === "jpeg" ? imageSize(d.type, bytes) : null;
    for (const [key, check, dim] of [["minWidth", "min_width", "width"], ["minHeight", "min_height", "height"]] as const) {
      const min = c[key];
      if (min === undefined) continue;
      if (d.type !== "png" && d.type !== "jpeg") push(check, false, `${key} only applies to types "png" and "jpeg", not ${quote(d.type)}`);
      else if (!size) {
        push(check, false, `${who}: could not read the image dimensions (${d.type === "png" ? "no IHDR chunk" : "no SOF marker before the image data"}); ${key} requires at least ${min}`);
      } else {
        const ok = size[dim] >= min;
        push(check, ok, ok
          ? `${size.width}x${size.height} pixels (min ${dim} ${min})`
          : `${who} is ${size.width}x${size.height} pixels; ${key} requires a ${dim} of at least ${min}`);
      }
    }
  }
}

/** The checks of one deliverable against its artifact (undefined: not produced). */
export type DeliverableResult = { deliverable: string; checks: QaCheck[]; outcome: "passed" | "missing" | "failed"; firstFailure?: string };

/**
 * Checks one deliverable. QA calls it once per deliverable with only that artifact's bytes loaded, so
 * a run's deliverables are never in memory together (convex/model/qaRead.ts).
 */
export function checkDeliverable(d: Deliverable, artifact: QaArtifact | undefined): DeliverableResult {
  if (!artifact) {
    return d.required === false
      ? { deliverable: d.name, checks: [{ deliverable: d.name, check: "present", ok: true, reason: "optional, not produced" }], outcome: "passed" }
      : { deliverable: d.name, checks: [{ deliverable: d.name, check: "present", ok: false, reason: "required, not produced" }], outcome: "missing" };
  }
  const checks: QaCheck[] = [];
  let firstFailure: string | undefined;
  checkOne(d, artifact, (check, checkOk, reason) => {
    const r = cap(reason);
    checks.push({ deliverable: d.name, check, ok: checkOk, reason: r });
    if (!checkOk && firstFailure === undefined) firstFailure = `${check}: ${r}`;
  });
  return { deliverable: d.name, checks, outcome: firstFailure === undefined ? "passed" : "failed", firstFailure };
}

/** The report of the deliverables' results (in declaration order), given the names of every artifact produced. */
export function qaReport(results: DeliverableResult[], producedNames: string[]): QaReport {
  const produced = [...new Set(producedNames)].sort();
  const checks: QaCheck[] = [];
  const missing: string[] = [];
  const failed: string[] = [];
  const firstFailure = new Map<string, string>();
  let passed = 0;
  for (const r of results) {
    checks.push(...r.checks);
    if (r.outcome === "passed") passed++;
    else if (r.outcome === "missing") {
      if (!missing.includes(r.deliverable)) missing.push(r.deliverable);
    } else {
      if (!firstFailure.has(r.deliverable)) firstFailure.set(r.deliverable, r.firstFailure ?? "");
      if (!failed.includes(r.deliverable)) failed.push(r.deliverable);
    }
  }

  const total = results.length;
  let summary: string;
  if (total === 0) {
    summary = `no deliverables declared; ${plural(produced.length, "artifact")} produced`;
  } else {
    summary = `${passed}/${total} ${total === 1 ? "deliverable" : "deliverables"} passed`;
    if (missing.length > 0) summary += `; missing: ${missing.join(", ")}`;
    if (failed.length > 0) {
      summary += `; failed: ${failed.map((f) => `${f} (${cap(firstFailure.get(f) ?? "", 160)})`).join(", ")}`;
    }
  }

  return {
    ok: missing.length === 0 && failed.length === 0,
    checks,
    missing,
    failed,
    produced,
    summary: cap(summary, MAX_SUMMARY_CHARS),
  };
}

/** Runs every check of every deliverable against the produced artifacts and returns the report. */
export function checkDeliverables(deliverables: Deliverable[], artifacts: QaArtifact[]): QaReport {
  const byName = new Map<string, QaArtifact>();
  for (const a of artifacts) if (!byName.has(a.name)) byName.set(a.name, a);
  return qaReport(deliverables.map((d) => checkDeliverable(d, byName.get(d.name))), [...byName.keys()]);
}

export { imageSize, pdfPageCount };
