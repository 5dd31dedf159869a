/**
 * The checks of particular formats: CSV min_rows, max_rows, columns; markdown headings; PDF min_pages;
 * image min_width, min_height (in that order).
 */
import { imageSize, pdfPageCount } from "../fileFacts.js";
import type { CheckInput } from "./checkInput.js";
import { isTextType } from "./constants.js";
import { markdownHeadings, normalizeHeading } from "./markdown.js";
import { list, plural, quote } from "./text.js";

/** Runs the format checks a deliverable declares; each fails with a reason on a type it does not apply to. */
export function runFormatChecks({ d, c, inspection, bytes, push }: CheckInput): void {
  const text = inspection.text;
  const textual = isTextType(d.type) && text !== undefined;
  const who = quote(d.name);

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
