/** CSV (RFC 4180) shape: row and column counts, the header, or the first malformed row. */
import { plural, showChar } from "./text.js";

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
