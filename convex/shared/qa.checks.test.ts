/** The CSV, markdown, text, PDF and image checks: a passing and a failing artifact each, with the reason. */
import { PDFDocument } from "pdf-lib";
import { describe, expect, test } from "vitest";
import { checkDeliverables, csvShape, deliverableProblems, markdownHeadings } from "./qa.js";
import { imageSize, inflateBounded as inflate, pdfPageCount } from "./fileFacts.js";
import { checkStage } from "../model/validate.js";
import type { Deliverable } from "./validators.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const art = (name: string, bytes: Uint8Array) => ({ name, size: bytes.length, bytes });

/** The checks of one deliverable other than present/non_empty/type, as `check: reason` (ok flagged). */
function run(d: Deliverable, bytes: Uint8Array): Record<string, { ok: boolean; reason: string }> {
  const report = checkDeliverables([d], [art(d.name, bytes)]);
  const type = report.checks.find((c) => c.check === "type");
  expect(type?.ok, type?.reason).toBe(true);
  const out: Record<string, { ok: boolean; reason: string }> = {};
  for (const c of report.checks) if (!["present", "non_empty", "type"].includes(c.check)) out[c.check] = { ok: c.ok, reason: c.reason };
  return out;
}

describe("CSV checks", () => {
  const d = (checks: Deliverable["checks"]): Deliverable => ({ name: "data.csv", type: "csv", checks });
  const quoted = utf8('name,"note, with comma"\r\nOtter,"line one\nline two, ""quoted"""\r\nSeal,plain\r\n');

  test("quoted fields with delimiters, newlines and escaped quotes parse; the header is read", () => {
    const header: string[] = [];
    expect(csvShape(new TextDecoder().decode(quoted), ",", header)).toEqual({ ok: true, rows: 3, columns: 2 });
    expect(header).toEqual(["name", "note, with comma"]);
  });

  test("minRows / maxRows count data rows, the header excluded", () => {
    expect(run(d({ minRows: 2, maxRows: 2 }), quoted)).toEqual({
      min_rows: { ok: true, reason: "2 data rows (min 2)" },
      max_rows: { ok: true, reason: "2 data rows (max 2)" },
    });
    expect(run(d({ minRows: 3 }), quoted).min_rows).toEqual({
      ok: false,
      reason: '"data.csv" has 2 data rows (header excluded); minRows requires at least 3',
    });
    expect(run(d({ maxRows: 1 }), quoted).max_rows).toEqual({
      ok: false,
      reason: '"data.csv" has 2 data rows (header excluded); maxRows allows at most 1',
    });
    expect(run(d({ minRows: 1 }), utf8("a,b\n")).min_rows.reason).toBe('"data.csv" has 0 data rows (header excluded); minRows requires at least 1');
  });

  test("columns match header names exactly after trimming", () => {
    expect(run(d({ columns: ["name", " note, with comma "] }), quoted).columns).toEqual({ ok: true, reason: 'header has "name", "note, with comma"' });
    expect(run(d({ columns: ["name", "Price", "qty"] }), quoted).columns).toEqual({
      ok: false,
      reason: '"data.csv" header lacks 2 required columns "Price", "qty"; found "name", "note, with comma" (names must match exactly after trimming)',
    });
  });

  test("delimiter: semicolon, tab and pipe; a UTF-8 BOM is ignored", () => {
    const semi = utf8("\uFEFFname;price\n\"a;b\";1\nc;2\n");
    expect(run(d({ delimiter: ";", columns: ["name", "price"], minRows: 2 }), semi)).toEqual({
      min_rows: { ok: true, reason: "2 data rows (min 2)" },
      columns: { ok: true, reason: 'header has "name", "price"' },
    });
    expect(run(d({ delimiter: "\t", columns: ["a", "b"] }), utf8("a\tb\n1\t2\n")).columns.ok).toBe(true);
    expect(run(d({ delimiter: "|", maxRows: 1 }), utf8("a|b\n1|2\n")).max_rows.ok).toBe(true);
    // The wrong delimiter reads one column, and the reason hints at it.
    expect(run(d({ columns: ["name"] }), utf8("name;price\nc;2\n")).columns.reason).toBe(
      '"data.csv" header lacks 1 required column "name"; found "name;price" (is the delimiter not ","? set checks.delimiter) (names must match exactly after trimming)',
    );
  });

  test("rows of the wrong width under the declared delimiter fail the type check", () => {
    const r = checkDeliverables([d({ delimiter: ";" })], [art("data.csv", utf8("a;b\n1;2;3\n"))]);
    expect(r.checks.find((c) => c.check === "type")).toMatchObject({ ok: false, reason: "expected CSV: row 2 (line 2) has 3 columns, header has 2" });
  });
});

describe("markdown headings", () => {
  const d: Deliverable = { name: "report.md", type: "markdown", checks: { headings: ["Summary", "sources", "## Next steps"] } };

  test("match by text, case-insensitive, any level; fenced code is not a heading", () => {
    const text = "# Report\n\n## SUMMARY ##\n\n###### Sources\n\n```\n# Next steps\n```\n";
    expect(markdownHeadings(text)).toEqual(["Report", "SUMMARY", "Sources"]);
    expect(run(d, utf8(text)).headings).toEqual({
      ok: false,
      reason: '"report.md" lacks 1 required heading "## Next steps"; found "Report", "SUMMARY", "Sources" (any level # to ######, case-insensitive)',
    });
    expect(run(d, utf8(text + "\n   #### next   steps\n")).headings).toEqual({ ok: true, reason: "has 3 required headings" });
  });

  test("#hashtag is not a heading", () => {
    expect(run(d, utf8("#summary\n")).headings.reason).toContain("found no headings");
  });
});

describe("contains / notContains", () => {
  test("literal, case-sensitive, on every text type", () => {
    const d = (type: Deliverable["type"], name: string): Deliverable => ({ name, type, checks: { contains: ["Otter", "kelp"], notContains: ["TODO"] } });
    expect(run(d("text", "a.txt"), utf8("Otter in kelp"))).toEqual({
      contains: { ok: true, reason: "contains all 2 required strings" },
      not_contains: { ok: true, reason: "none of 1 forbidden string found" },
    });
    expect(run(d("markdown", "a.md"), utf8("otter in kelp\nTODO: more"))).toEqual({
      contains: { ok: false, reason: '"a.md" does not contain "Otter" (1 of 2 required strings missing; matching is case-sensitive)' },
      not_contains: { ok: false, reason: '"a.md" contains forbidden "TODO" (first at line 2, column 1); remove it' },
    });
    expect(run(d("json", "a.json"), utf8('{"a":"Otter kelp"}')).contains.ok).toBe(true);
    expect(run(d("csv", "a.csv"), utf8("a\nOtter kelp TODO\n")).not_contains.ok).toBe(false);
    expect(run(d("html", "a.html"), utf8("<p>Otter kelp</p>")).contains.ok).toBe(true);
  });
});

describe("PDF minPages", () => {
  const page = (n: number, sep = " ") =>
    Array.from({ length: n }, (_, i) => `${i + 3} 0 obj <</Type${sep}/Page/Parent 2 0 R>> endobj`).join("\n");
  const pdf = (body: string) => utf8(`%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Count 9 >> endobj\n${body}\n%%EOF\n`);

  test("counts /Type /Page objects, not /Pages, whatever the whitespace", () => {
    expect(pdfPageCount(pdf(page(3)))).toBe(3);
    expect(pdfPageCount(pdf(page(2, "")))).toBe(2);
    expect(pdfPageCount(pdf(page(2, "\r\n  ")))).toBe(2);
    expect(pdfPageCount(pdf(""))).toBe(0);
  });

  test("page objects inside compressed object streams (pdf-lib's default) are counted", async () => {
    const doc = await PDFDocument.create();
    for (let i = 0; i < 4; i++) doc.addPage();
    const bytes = await doc.save();
    expect(new TextDecoder("latin1").decode(bytes)).toContain("/ObjStm");
    expect(pdfPageCount(bytes)).toBe(4);
    const plain = await doc.save({ useObjectStreams: false });
    expect(pdfPageCount(plain)).toBe(4);
  });

  test("pass and fail reasons", () => {
    const d = (minPages: number): Deliverable => ({ name: "r.pdf", type: "pdf", checks: { minPages } });
    expect(run(d(2), pdf(page(2))).min_pages).toEqual({ ok: true, reason: "2 pages (min 2)" });
    expect(run(d(3), pdf(page(1))).min_pages).toEqual({ ok: false, reason: '"r.pdf" has 1 page; minPages requires at least 3' });
    expect(run(d(1), pdf("")).min_pages).toEqual({ ok: false, reason: '"r.pdf": no page objects (/Type /Page) found; minPages requires at least 1' });
  });

  test("inflate refuses malformed data and output over its bound", () => {
    expect(inflate(Uint8Array.from([0x78, 0x9c, 0xff, 0xff]), 1000)).toBeNull();
    // A raw deflate stored block of 5 bytes: "hello".
    const stored = Uint8Array.from([0x01, 0x05, 0x00, 0xfa, 0xff, 104, 101, 108, 108, 111]);
    expect(new TextDecoder().decode(inflate(stored, 1000)!)).toBe("hello");
    expect(inflate(stored, 4)).toBeNull();
  });
});

describe("image dimensions", () => {
  const png = (w: number, h: number) => {
    const b = new Uint8Array(33);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(b.buffer).setUint32(16, w);
    new DataView(b.buffer).setUint32(20, h);
    return b;
  };
  const jpeg = (w: number, h: number) =>
    Uint8Array.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
      0xff, 0xdb, 0x00, 0x03, 0x00, // a (truncated) DQT segment, skipped by its length
      0xff, 0xc2, 0x00, 0x0b, 0x08, h >> 8, h & 0xff, w >> 8, w & 0xff, 0x01, 0x01, 0x11, 0x00,
      0xff, 0xda, 0x00, 0x02, 0xff, 0xd9,
    ]);

  test("PNG IHDR and JPEG SOF are read", () => {
    expect(imageSize("png", png(640, 480))).toEqual({ width: 640, height: 480 });
    expect(imageSize("jpeg", jpeg(1024, 300))).toEqual({ width: 1024, height: 300 });
    expect(imageSize("jpeg", Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9]))).toBeNull();
  });

  test("pass and fail reasons", () => {
    const d = (type: "png" | "jpeg", name: string): Deliverable => ({ name, type, checks: { minWidth: 800, minHeight: 400 } });
    expect(run(d("png", "a.png"), png(800, 600))).toEqual({
      min_width: { ok: true, reason: "800x600 pixels (min width 800)" },
      min_height: { ok: true, reason: "800x600 pixels (min height 400)" },
    });
    expect(run(d("jpeg", "a.jpg"), jpeg(1024, 300))).toEqual({
      min_width: { ok: true, reason: "1024x300 pixels (min width 800)" },
      min_height: { ok: false, reason: '"a.jpg" is 1024x300 pixels; minHeight requires a height of at least 400' },
    });
    expect(run(d("png", "a.png"), png(1, 1).subarray(0, 12)).min_width.reason).toBe(
      '"a.png": could not read the image dimensions (no IHDR chunk); minWidth requires at least 800',
    );
  });
});

describe("stage validation of the new checks", () => {
  const at = "stages[0].deliverables[1]";
  test("valid declarations pass", () => {
    expect(deliverableProblems({ name: "d.csv", type: "csv", checks: { minRows: 1, maxRows: 5, columns: ["a"], delimiter: "\t", contains: ["x"], notContains: ["y"] } }, at)).toEqual([]);
    expect(deliverableProblems({ name: "r.md", type: "markdown", checks: { headings: ["Summary"] } }, at)).toEqual([]);
    expect(deliverableProblems({ name: "r.pdf", type: "pdf", checks: { minPages: 2 } }, at)).toEqual([]);
    expect(deliverableProblems({ name: "i.jpeg", type: "jpeg", checks: { minWidth: 10, minHeight: 0 } }, at)).toEqual([]);
  });

  test("bad values are refused with the field path", () => {
    expect(deliverableProblems({ name: "d.csv", type: "csv", checks: { minRows: 1.5, maxRows: -1 } }, at)).toEqual([
      "stages[0].deliverables[1].checks.minRows: must be a whole number ≥ 0, got 1.5",
      "stages[0].deliverables[1].checks.maxRows: must be a whole number ≥ 0, got -1",
    ]);
    expect(deliverableProblems({ name: "d.csv", type: "csv", checks: { minRows: 5, maxRows: 2 } }, at)).toEqual([
      "stages[0].deliverables[1].checks.minRows: 5 is greater than checks.maxRows (2), so nothing can pass; lower minRows or raise maxRows",
    ]);
    expect(deliverableProblems({ name: "r.md", type: "markdown", checks: { minPages: 2 } }, at)).toEqual([
      'stages[0].deliverables[1].checks.minPages: only applies to type "pdf", not "markdown"; remove it or change the type',
    ]);
    expect(deliverableProblems({ name: "r.pdf", type: "pdf", checks: { contains: ["x"], minWidth: 3 } }, at)).toEqual([
      'stages[0].deliverables[1].checks.contains: only applies to types "markdown", "json", "csv", "text", "html", not "pdf"; remove it or change the type',
      'stages[0].deliverables[1].checks.minWidth: only applies to types "png", "jpeg", not "pdf"; remove it or change the type',
    ]);
    expect(deliverableProblems({ name: "d.csv", type: "csv", checks: { columns: "a,b" as never } }, at)).toEqual([
      'stages[0].deliverables[1].checks.columns: must be an array of strings, e.g. ["name", "price"]',
    ]);
    expect(deliverableProblems({ name: "d.csv", type: "csv", checks: { columns: ["a", " "] } }, at)).toEqual([
      "stages[0].deliverables[1].checks.columns[1]: must not be empty",
    ]);
    expect(deliverableProblems({ name: "d.csv", type: "csv", checks: { delimiter: ":" } }, at)).toEqual([
      'stages[0].deliverables[1].checks.delimiter: unknown delimiter ":"; use one of ",", ";", "\\t", "|"',
    ]);
    expect(deliverableProblems({ name: "a.txt", type: "text", checks: { contains: ["no TODO here"], notContains: ["TODO"] } }, at)).toEqual([
      'stages[0].deliverables[1].checks.contains: "no TODO here" includes "TODO", which checks.notContains forbids, so nothing can pass',
    ]);
  });

  test("without a path the deliverable is named", () => {
    expect(deliverableProblems({ name: "r.md", type: "markdown", checks: { headings: [1] as never } })).toEqual([
      'deliverable "r.md" checks.headings: must be an array of strings, e.g. ["Summary", "Sources"]',
    ]);
  });

  test("checkStage (createBoard, addStage, updateStage) names the field by its path", () => {
    const message = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { data?: { code: string; message: string } }).data;
      }
      return undefined;
    };
    const stage = (checks: Deliverable["checks"]) => ({
      name: "Work",
      kind: "agent" as const,
      deliverables: [{ name: "a.md", type: "markdown" as const }, { name: "d.csv", type: "csv" as const, checks }],
    });
    expect(message(() => checkStage("stages[0]", stage({ minRows: 2, columns: ["a"], delimiter: ";" })))).toBeUndefined();
    expect(message(() => checkStage("stages[0]", stage({ minRows: 1.5 })))).toEqual({
      code: "invalid_argument",
      message: "stages[0].deliverables[1].checks.minRows: must be a whole number ≥ 0, got 1.5",
      path: "stages[0].deliverables[1].checks.minRows",
    });
    expect(message(() => checkStage("stages[0]", stage({ minPages: 2 })))?.message).toBe(
      "stages[0].deliverables[1].checks.minPages: only applies to type \"pdf\", not \"csv\"; remove it or change the type",
    );
  });
});
