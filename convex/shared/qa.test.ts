import { describe, expect, test } from "vitest";
import {
  checkDeliverables,
  contentMatchesType,
  countWords,
  csvShape,
  deliverableProblems,
  jsonSyntaxError,
  MAX_REASON_CHARS,
  type QaArtifact,
} from "./qa.js";
import type { Deliverable, QaCheck } from "./validators.js";

// ---------------------------------------------------------------------------------------------
// Fixtures

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytesOf = (...parts: Array<number[] | string | Uint8Array>): Uint8Array => {
  const chunks = parts.map((p) => (typeof p === "string" ? utf8(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};

const PDF = utf8(
  [
    "%PDF-1.4",
    "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj",
    "xref",
    "0 4",
    "0000000000 65535 f ",
    "trailer << /Size 4 /Root 1 0 R >>",
    "startxref",
    "9",
    "%%EOF",
    "",
  ].join("\n"),
);
/** PNG signature + the IHDR chunk of a 1x1 RGBA image. */
const PNG = bytesOf(
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  [0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52],
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00],
  [0x1f, 0x15, 0xc4, 0x89],
);
const JPEG = bytesOf([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], "JFIF", [0x00, 0x01, 0x01, 0x00]);
const INVALID_UTF8 = bytesOf("ok ", [0xc3, 0x28], " rest");

const art = (name: string, content: Uint8Array | string, extra: Partial<QaArtifact> = {}): QaArtifact => {
  const bytes = typeof content === "string" ? utf8(content) : content;
  return { name, size: bytes.length, bytes, ...extra };
};
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");
const checksOf = (checks: QaCheck[], deliverable: string) =>
  checks.filter((c) => c.deliverable === deliverable).map((c) => [c.check, c.ok]);
const reasonOf = (checks: QaCheck[], deliverable: string, check: string) =>
  checks.find((c) => c.deliverable === deliverable && c.check === check)?.reason;

// ---------------------------------------------------------------------------------------------

describe("contentMatchesType", () => {
  test("a minimal PDF passes", () => {
    expect(contentMatchesType("pdf", PDF)).toEqual({ ok: true, reason: "PDF header and %%EOF marker found" });
  });

  test("a PDF with the wrong magic bytes says what it looks like", () => {
    const r = contentMatchesType("pdf", PNG);
    expect(r.ok).toBe(false);
    expect(r.reason).toBe("expected a PDF: file does not start with %PDF- (it looks like a PNG image)");
    expect(contentMatchesType("pdf", utf8("# Report")).reason).toContain('it starts with "# Report"');
  });

  test("a PDF without %%EOF in the last 1024 bytes is rejected", () => {
    const truncated = utf8("%PDF-1.4\n1 0 obj << >> endobj\n");
    expect(contentMatchesType("pdf", truncated).reason).toContain("no %%EOF marker in the last 1024 bytes");
    // %%EOF present but followed by more than 1024 bytes
    const farEof = bytesOf("%PDF-1.4\n%%EOF\n", "x".repeat(1100));
    expect(contentMatchesType("pdf", farEof).ok).toBe(false);
    // %%EOF with trailing data within the window still passes
    const nearEof = bytesOf("%PDF-1.4\n%%EOF\n", "x".repeat(1000));
    expect(contentMatchesType("pdf", nearEof).ok).toBe(true);
  });

  test("PNG needs the full 8-byte signature", () => {
    expect(contentMatchesType("png", PNG).ok).toBe(true);
    const broken = PNG.slice();
    broken[7] = 0x00;
    const r = contentMatchesType("png", broken);
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("missing the 8-byte PNG signature");
    expect(contentMatchesType("png", JPEG).reason).toContain("it looks like a JPEG image");
    expect(contentMatchesType("png", PNG.slice(0, 7)).ok).toBe(false);
  });

  test("JPEG needs FF D8 FF", () => {
    expect(contentMatchesType("jpeg", JPEG).ok).toBe(true);
    const r = contentMatchesType("jpeg", bytesOf([0xff, 0xd8, 0x00, 0x01]));
    expect(r.ok).toBe(false);
    expect(r.reason).toBe("expected a JPEG: file does not start with FF D8 FF (it starts with bytes FF D8 00 01)");
  });

  test("JSON: valid parses, invalid reports the position", () => {
    expect(contentMatchesType("json", utf8('{"a":[1,2,{"b":null}]}'))).toEqual({ ok: true, reason: "valid JSON (object)" });
    expect(contentMatchesType("json", utf8("\uFEFF[1]")).ok).toBe(true); // BOM is tolerated
    const r = contentMatchesType("json", utf8('{"name": "x",\n "n": 1 "m": 2}'));
    expect(r.ok).toBe(false);
    expect(r.reason).toBe(
      'invalid JSON at position 22 (line 2, column 9): expected "," or "}" after a property value, found "\\""',
    );
  });

  test("JSON error messages point at common mistakes", () => {
    expect(contentMatchesType("json", utf8('{"a": 1,}')).reason).toBe(
      'invalid JSON at position 8 (line 1, column 9): unexpected "}" after a comma (trailing commas are not allowed in JSON)',
    );
    expect(contentMatchesType("json", utf8("{'a': 1}")).reason).toContain("position 1");
    expect(contentMatchesType("json", utf8("[1, 2")).reason).toBe(
      'invalid JSON at position 5 (line 1, column 6): unexpected end of input, expected "," or "]"',
    );
    expect(contentMatchesType("json", utf8("  ")).reason).toContain("unexpected end of input, expected a value");
    expect(contentMatchesType("json", utf8("{} x")).reason).toContain('position 3 (line 1, column 4): unexpected "x" after the end');
  });

  test("CSV with quoted commas, escaped quotes and embedded newlines passes", () => {
    const csv = 'name,notes,price\r\n"Smith, J.","said ""hi""\nthen left",3\r\nDoe,,4\r\n';
    expect(contentMatchesType("csv", utf8(csv))).toEqual({
      ok: true,
      reason: "valid CSV: 3 rows (including the header) x 3 columns",
    });
  });

  test("a ragged CSV row is reported with its number and counts", () => {
    const csv = 'a,b,c,d\n1,2,3,4\n"x\ny",2,3,4\n5,6,7\n';
    const r = contentMatchesType("csv", utf8(csv));
    expect(r.ok).toBe(false);
    // row 4 starts on line 5 because row 3 contains a quoted newline
    expect(r.reason).toBe("expected CSV: row 4 (line 5) has 3 columns, header has 4");
  });

  test("CSV syntax errors", () => {
    expect(contentMatchesType("csv", utf8('a,b\n"open,2\n')).reason).toContain("row 2 has an unterminated quoted field");
    expect(contentMatchesType("csv", utf8('a,b\n"x"y,2\n')).reason).toContain('right after a closing quote');
    expect(contentMatchesType("csv", utf8('a,b\n5" screen,2\n')).reason).toContain("double quote inside an unquoted field");
    expect(contentMatchesType("csv", utf8("a,b\n\n1,2\n")).reason).toBe("expected CSV: row 2 (line 2) is blank, header has 2 columns");
    expect(contentMatchesType("csv", utf8("\n")).reason).toBe("expected CSV: the header row (row 1) is blank");
  });

  test("CSV shape details", () => {
    expect(csvShape("a")).toEqual({ ok: true, rows: 1, columns: 1 });
    expect(csvShape("a,b\n1,2")).toEqual({ ok: true, rows: 2, columns: 2 }); // no trailing newline
    expect(csvShape("a,b\r1,2\r")).toEqual({ ok: true, rows: 2, columns: 2 }); // bare CR line endings
    expect(csvShape('a,b\n"",""\n')).toEqual({ ok: true, rows: 2, columns: 2 });
    expect(csvShape("")).toEqual({ ok: false, reason: "expected CSV: no rows" });
  });

  test("invalid UTF-8 is rejected for every text type, with the offset", () => {
    for (const t of ["markdown", "text", "json", "csv", "html"] as const) {
      const r = contentMatchesType(t, INVALID_UTF8);
      expect(r.ok, t).toBe(false);
      expect(r.reason, t).toBe(`expected ${t}: not valid UTF-8: invalid byte sequence at offset 3 (C3 28 20 72); save the file as UTF-8 text`);
    }
    // overlong encoding and lone surrogate encodings are invalid too
    expect(contentMatchesType("text", bytesOf([0xc0, 0xaf])).ok).toBe(false);
    expect(contentMatchesType("text", bytesOf([0xed, 0xa0, 0x80])).ok).toBe(false);
    expect(contentMatchesType("text", bytesOf("trunc", [0xe2, 0x82])).reason).toContain("offset 5");
  });

  test("a real U+FFFD character is valid UTF-8", () => {
    expect(contentMatchesType("text", utf8("replacement: \uFFFD, café, 日本")).ok).toBe(true);
  });

  test("NUL bytes make markdown/text invalid", () => {
    const r = contentMatchesType("markdown", bytesOf("# Title\n", [0x00], "more"));
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("contains a NUL byte at offset 8");
    expect(contentMatchesType("text", bytesOf([0x41, 0x00])).ok).toBe(false);
    expect(contentMatchesType("markdown", utf8("# Title\n\nbody")).ok).toBe(true);
  });

  test("HTML needs something tag-like", () => {
    expect(contentMatchesType("html", utf8("<!DOCTYPE html><p>hi</p>")).ok).toBe(true);
    expect(contentMatchesType("html", utf8("<div>x</div>")).ok).toBe(true);
    const r = contentMatchesType("html", utf8("just text, 1 < 2"));
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("no tags found");
  });

  test("file accepts anything non-empty; every type rejects empty content", () => {
    expect(contentMatchesType("file", bytesOf([0x00, 0xff])).ok).toBe(true);
    for (const t of ["file", "pdf", "png", "jpeg", "json", "csv", "markdown", "text", "html"] as const) {
      expect(contentMatchesType(t, new Uint8Array(0)), t).toEqual({ ok: false, reason: "file is empty" });
    }
  });
});

describe("jsonSyntaxError", () => {
  test("agrees with JSON.parse on validity", () => {
    const samples = ['{"a":1}', "[]", '"s"', "-0.5e+3", "true", "null", '{"a":"\\u00e9\\n"}', "[1,[2,[3]]]"];
    for (const s of samples) expect(jsonSyntaxError(s), s).toBeNull();
    const bad = ["01", "1.", "-", "{a:1}", '"\\x"', '"tab\there"', "[1 2]", "nul", '{"a" 1}', "/* c */ 1"];
    for (const s of bad) {
      expect(() => JSON.parse(s), s).toThrow();
      expect(jsonSyntaxError(s), s).not.toBeNull();
    }
  });

  test("is iterative (deep nesting does not overflow the stack)", () => {
    const deep = "[".repeat(100_000);
    expect(jsonSyntaxError(deep)?.message).toContain("unexpected end of input");
  });
});

describe("countWords", () => {
  test("counts whitespace-separated tokens", () => {
    expect(countWords("")).toBe(0);
    expect(countWords("   \n\t ")).toBe(0);
    expect(countWords("one")).toBe(1);
    expect(countWords("  one two\tthree\nfour\r\nfive  ")).toBe(5);
    expect(countWords("# Title\n\n- item")).toBe(4);
    expect(countWords("non\u00a0breaking\u3000space")).toBe(3);
  });
});

describe("checkDeliverables", () => {
  test("all present and valid", () => {
    const deliverables: Deliverable[] = [
      { name: "report.pdf", type: "pdf" },
      { name: "chart.png", type: "png" },
      { name: "photo.jpg", type: "jpeg" },
    ];
    const r = checkDeliverables(deliverables, [art("photo.jpg", JPEG), art("report.pdf", PDF), art("chart.png", PNG)]);
    expect(r.ok).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.failed).toEqual([]);
    expect(r.produced).toEqual(["chart.png", "photo.jpg", "report.pdf"]);
    expect(r.summary).toBe("3/3 deliverables passed");
    expect(checksOf(r.checks, "report.pdf")).toEqual([
      ["present", true],
      ["non_empty", true],
      ["type", true],
    ]);
  });

  test("produced lists every artifact, sorted, including undeclared ones", () => {
    const r = checkDeliverables([{ name: "a.txt", type: "text" }], [art("z.log", "x"), art("a.txt", "hi"), art("m/b.txt", "y")]);
    expect(r.produced).toEqual(["a.txt", "m/b.txt", "z.log"]);
    expect(r.ok).toBe(true);
  });

  test("missing required vs missing optional", () => {
    const r = checkDeliverables(
      [
        { name: "data.json", type: "json" },
        { name: "extra.md", type: "markdown", required: false, checks: { minWords: 10 } },
        { name: "notes.md", type: "markdown" },
      ],
      [art("notes.md", "hello there")],
    );
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual(["data.json"]);
    expect(r.failed).toEqual([]);
    expect(r.checks.filter((c) => c.deliverable === "extra.md")).toEqual([
      { deliverable: "extra.md", check: "present", ok: true, reason: "optional, not produced" },
    ]);
    expect(r.checks.filter((c) => c.deliverable === "data.json")).toEqual([
      { deliverable: "data.json", check: "present", ok: false, reason: "required, not produced" },
    ]);
    expect(r.summary).toBe("2/3 deliverables passed; missing: data.json");
  });

  test("matching is by exact name", () => {
    const r = checkDeliverables([{ name: "report.md", type: "markdown" }], [art("Report.md", "x"), art("out/report.md", "x")]);
    expect(r.missing).toEqual(["report.md"]);
  });

  test("an optional deliverable that is produced is fully checked", () => {
    const r = checkDeliverables(
      [{ name: "extra.md", type: "markdown", required: false, checks: { minWords: 10 } }],
      [art("extra.md", "too short")],
    );
    expect(r.ok).toBe(false);
    expect(r.failed).toEqual(["extra.md"]);
    expect(reasonOf(r.checks, "extra.md", "min_words")).toBe("2 words, need at least 10");
  });

  test("check order, and only configured checks are emitted", () => {
    const r = checkDeliverables(
      [
        {
          name: "data.json",
          type: "json",
          checks: { minBytes: 1, maxBytes: 1000, minWords: 1, maxWords: 100, jsonSchema: '{"type":"object"}', regex: "total" },
        },
        { name: "plain.json", type: "json" },
      ],
      [art("data.json", '{"total": 3}'), art("plain.json", "[]")],
    );
    expect(r.checks.filter((c) => c.deliverable === "data.json").map((c) => c.check)).toEqual([
      "present",
      "non_empty",
      "type",
      "min_bytes",
      "max_bytes",
      "min_words",
      "max_words",
      "json_schema",
      "regex",
    ]);
    expect(r.checks.filter((c) => c.deliverable === "plain.json").map((c) => c.check)).toEqual(["present", "non_empty", "type"]);
    expect(r.ok).toBe(true);
  });

  test("byte bounds: exactly at the bound passes, one past fails", () => {
    const d = (checks: Deliverable["checks"]): Deliverable[] => [{ name: "f.txt", type: "text", checks }];
    const ten = art("f.txt", "0123456789");
    expect(checkDeliverables(d({ minBytes: 10, maxBytes: 10 }), [ten]).ok).toBe(true);
    const tooSmall = checkDeliverables(d({ minBytes: 11 }), [ten]);
    expect(tooSmall.ok).toBe(false);
    expect(reasonOf(tooSmall.checks, "f.txt", "min_bytes")).toBe("10 bytes, need at least 11");
    const tooBig = checkDeliverables(d({ maxBytes: 9 }), [ten]);
    expect(tooBig.ok).toBe(false);
    expect(reasonOf(tooBig.checks, "f.txt", "max_bytes")).toBe("10 bytes, allowed at most 9");
  });

  test("size bounds use the artifact's size; short bytes fail the type check", () => {
    const r = checkDeliverables(
      [{ name: "big.pdf", type: "pdf", checks: { maxBytes: 100 } }],
      [{ name: "big.pdf", size: 5000, bytes: PDF }],
    );
    expect(r.ok).toBe(false);
    expect(checksOf(r.checks, "big.pdf")).toEqual([
      ["present", true],
      ["non_empty", true],
      ["type", false],
    ]);
    expect(reasonOf(r.checks, "big.pdf", "type")).toContain(`only ${PDF.length} of 5000 bytes were available`);
  });

  test("word bounds: exactly at the bound passes, one past fails", () => {
    const d = (checks: Deliverable["checks"]): Deliverable[] => [{ name: "report.md", type: "markdown", checks }];
    expect(checkDeliverables(d({ minWords: 300, maxWords: 300 }), [art("report.md", words(300))]).ok).toBe(true);
    const short = checkDeliverables(d({ minWords: 300 }), [art("report.md", words(120))]);
    expect(short.ok).toBe(false);
    expect(short.failed).toEqual(["report.md"]);
    expect(short.summary).toBe("0/1 deliverable passed; failed: report.md (min_words: 120 words, need at least 300)");
    const long = checkDeliverables(d({ maxWords: 299 }), [art("report.md", words(300))]);
    expect(reasonOf(long.checks, "report.md", "max_words")).toBe("300 words, allowed at most 299");
  });

  test("regex pass and fail", () => {
    const d: Deliverable[] = [{ name: "r.md", type: "markdown", checks: { regex: "## Summary\\n" } }];
    const pass = checkDeliverables(d, [art("r.md", "# R\n\n## Summary\nok")]);
    expect(pass.ok).toBe(true);
    expect(reasonOf(pass.checks, "r.md", "regex")).toBe("matches /## Summary\\n/");
    const fail = checkDeliverables(d, [art("r.md", "# R\n\n## Overview\nok")]);
    expect(fail.ok).toBe(false);
    expect(reasonOf(fail.checks, "r.md", "regex")).toBe("content does not match /## Summary\\n/");
  });

  test("JSON schema pass and fail, with the path in the reason", () => {
    const schema = JSON.stringify({
      type: "object",
      required: ["items"],
      properties: { items: { type: "array", items: { type: "object", properties: { price: { type: "number" } } } } },
    });
    const d: Deliverable[] = [{ name: "data.json", type: "json", checks: { jsonSchema: schema } }];
    const ok = checkDeliverables(d, [art("data.json", '{"items":[{"price":1}]}')]);
    expect(ok.ok).toBe(true);
    expect(reasonOf(ok.checks, "data.json", "json_schema")).toBe("matches the schema");
    const bad = checkDeliverables(d, [art("data.json", '{"items":[{"price":1},{"price":2},{"price":"3"}]}')]);
    expect(bad.ok).toBe(false);
    expect(reasonOf(bad.checks, "data.json", "json_schema")).toBe("1 schema error: /items/2/price: expected number, got string");
    expect(bad.summary).toBe(
      "0/1 deliverable passed; failed: data.json (json_schema: 1 schema error: /items/2/price: expected number, got string)",
    );
  });

  test("a bad schema that slipped past declaration fails the check instead of passing", () => {
    const r = checkDeliverables(
      [{ name: "d.json", type: "json", checks: { jsonSchema: '{"oneOf":[]}' } }],
      [art("d.json", "{}")],
    );
    expect(r.ok).toBe(false);
    expect(reasonOf(r.checks, "d.json", "json_schema")).toContain("#/oneOf: must be a non-empty array of schemas");
  });

  test("a failed type check omits the later checks", () => {
    const r = checkDeliverables(
      [{ name: "data.json", type: "json", checks: { minBytes: 1, minWords: 1, jsonSchema: '{"type":"object"}', regex: "x" } }],
      [art("data.json", '{"a": 1,}')],
    );
    expect(checksOf(r.checks, "data.json")).toEqual([
      ["present", true],
      ["non_empty", true],
      ["type", false],
    ]);
    expect(r.summary).toBe(
      '0/1 deliverable passed; failed: data.json (type: invalid JSON at position 8 (line 1, column 9): unexpected "}" after a comma (trailing commas are not allowed in JSON))',
    );
  });

  test("an empty artifact fails non_empty and omits the later checks", () => {
    const r = checkDeliverables([{ name: "out.csv", type: "csv", checks: { minBytes: 0 } }], [art("out.csv", "")]);
    expect(checksOf(r.checks, "out.csv")).toEqual([
      ["present", true],
      ["non_empty", false],
    ]);
    expect(r.failed).toEqual(["out.csv"]);
    expect(r.missing).toEqual([]);
  });

  test("wrong content type in a full report", () => {
    const r = checkDeliverables(
      [
        { name: "report.pdf", type: "pdf" },
        { name: "data.csv", type: "csv" },
        { name: "summary.md", type: "markdown", checks: { minWords: 3 } },
        { name: "data.json", type: "json" },
      ],
      [
        art("report.pdf", utf8("# not a pdf")),
        art("data.csv", "a,b,c,d\n1,2,3,4\n1,2,3,4\n1,2,3\n"),
        art("summary.md", "three words here"),
      ],
    );
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual(["data.json"]);
    expect(r.failed).toEqual(["report.pdf", "data.csv"]);
    expect(r.summary).toBe(
      "1/4 deliverables passed; missing: data.json; failed: " +
        'report.pdf (type: expected a PDF: file does not start with %PDF- (it starts with "# not a pdf")), ' +
        "data.csv (type: expected CSV: row 4 (line 4) has 3 columns, header has 4)",
    );
    expect(r.summary).not.toContain("\n");
  });

  test("no deliverables", () => {
    const r = checkDeliverables([], [art("a", "x")]);
    expect(r).toEqual({ ok: true, checks: [], missing: [], failed: [], produced: ["a"], summary: "no deliverables declared; 1 artifact produced" });
  });

  test("reasons are capped and single-line", () => {
    const longRegex = `needle-${"x".repeat(900)}`;
    const r = checkDeliverables([{ name: "t.txt", type: "text", checks: { regex: longRegex } }], [art("t.txt", "hay")]);
    const reason = reasonOf(r.checks, "t.txt", "regex") ?? "";
    expect(reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
    expect(reason.endsWith("…")).toBe(true);
    const multi = checkDeliverables([{ name: "t.txt", type: "text", checks: { regex: "a\nb" } }], [art("t.txt", "zzz")]);
    expect(reasonOf(multi.checks, "t.txt", "regex")).toBe("content does not match /a b/");
  });

  test("many schema errors are summarised, not listed in full", () => {
    const values = JSON.stringify(Array.from({ length: 500 }, () => "s"));
    const r = checkDeliverables(
      [{ name: "n.json", type: "json", checks: { jsonSchema: '{"type":"array","items":{"type":"number"}}' } }],
      [art("n.json", values)],
    );
    const reason = reasonOf(r.checks, "n.json", "json_schema") ?? "";
    expect(reason.startsWith("5 schema errors (first 5 shown): /0: expected number, got string; /1:")).toBe(true);
    expect(reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
  });
});

describe("deliverableProblems", () => {
  const ok: Deliverable = { name: "out/report.md", type: "markdown", checks: { minWords: 10, maxWords: 20, regex: "^#" } };

  test("a well-formed deliverable has no problems", () => {
    expect(deliverableProblems(ok)).toEqual([]);
    expect(deliverableProblems({ name: "d.json", type: "json", checks: { jsonSchema: '{"type":"object","title":"x"}' } })).toEqual([]);
    expect(deliverableProblems({ name: "a.pdf", type: "pdf", checks: { minBytes: 0, maxBytes: 10 } })).toEqual([]);
  });

  test("empty or whitespace names", () => {
    for (const name of ["", "   "]) {
      const p = deliverableProblems({ name, type: "text" });
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(/^deliverable name is empty: .*e\.g\. "report\.md"/);
    }
  });

  test.each([
    ["../secret.md", 'must not contain a ".." segment'],
    ["out/../../x.md", 'must not contain a ".." segment'],
    ["/abs/report.md", 'remove the leading "/"'],
    ["out\\report.md", 'use "/" as the folder separator'],
    ["rep\nort.md", "control characters"],
    ["tab\there.md", "control characters"],
    ["./report.md", 'empty or "." path segment'],
    ["a//b.md", 'empty or "." path segment'],
  ])("bad name %j", (name, message) => {
    const p = deliverableProblems({ name, type: "text" });
    expect(p.length).toBeGreaterThan(0);
    expect(p.join("\n")).toContain(message);
    expect(p[0]).toContain(`deliverable ${JSON.stringify(name)}`);
  });

  test("names with dots that are not segments are fine", () => {
    expect(deliverableProblems({ name: "v1..2.md", type: "text" })).toEqual([]);
    expect(deliverableProblems({ name: ".hidden/notes.md", type: "text" })).toEqual([]);
  });

  test.each([
    [{ minBytes: -1 }, "checks.minBytes must be a non-negative integer, got -1"],
    [{ maxBytes: 1.5 }, "checks.maxBytes must be a non-negative integer, got 1.5"],
    [{ minWords: Number.NaN }, "checks.minWords must be a non-negative integer, got NaN"],
    [{ maxWords: -10 }, "checks.maxWords must be a non-negative integer, got -10"],
  ])("bad bound %j", (checks, message) => {
    expect(deliverableProblems({ name: "a.md", type: "markdown", checks })).toEqual([
      expect.stringContaining(message),
    ]);
  });

  test("min greater than max", () => {
    expect(deliverableProblems({ name: "a.md", type: "markdown", checks: { minBytes: 500, maxBytes: 100 } })).toEqual([
      'deliverable "a.md": checks.minBytes (500) is greater than checks.maxBytes (100), so nothing can pass; lower minBytes or raise maxBytes',
    ]);
    expect(deliverableProblems({ name: "a.md", type: "markdown", checks: { minWords: 5, maxWords: 4 } })[0]).toContain(
      "checks.minWords (5) is greater than checks.maxWords (4)",
    );
    expect(deliverableProblems({ name: "a.md", type: "markdown", checks: { minWords: 4, maxWords: 4 } })).toEqual([]);
  });

  test("maxBytes 0 can never pass", () => {
    expect(deliverableProblems({ name: "a.md", type: "markdown", checks: { maxBytes: 0 } })[0]).toContain("maxBytes is 0");
  });

  test("a regex that does not compile", () => {
    const p = deliverableProblems({ name: "a.md", type: "markdown", checks: { regex: "([a-z]" } });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^deliverable "a\.md": checks\.regex does not compile on the linear-time engine \(.+\); RE2 syntax is allowed/);
  });

  test.each(["pdf", "png", "jpeg", "file"] as const)("words and regex on binary type %s", (type) => {
    const p = deliverableProblems({ name: "x.bin", type, checks: { minWords: 1, maxWords: 2, regex: "a" } });
    expect(p).toHaveLength(3);
    for (const k of ["minWords", "maxWords", "regex"]) {
      expect(p.join("\n")).toContain(`checks.${k} only applies to text types (markdown, json, csv, text, html), not "${type}"`);
    }
  });

  test("jsonSchema on a non-json type", () => {
    const p = deliverableProblems({ name: "a.md", type: "markdown", checks: { jsonSchema: '{"type":"object"}' } });
    expect(p).toEqual(['deliverable "a.md": checks.jsonSchema only applies to type "json", not "markdown"; remove it or change the type']);
  });

  test("jsonSchema that is not JSON or not an object", () => {
    const notJson = deliverableProblems({ name: "d.json", type: "json", checks: { jsonSchema: "{type: object}" } });
    expect(notJson).toHaveLength(1);
    expect(notJson[0]).toMatch(/^deliverable "d\.json": checks\.jsonSchema is not valid JSON \(.+\); pass the schema as JSON text/);
    expect(deliverableProblems({ name: "d.json", type: "json", checks: { jsonSchema: "[]" } })[0]).toContain(
      "must be a JSON object schema",
    );
    expect(deliverableProblems({ name: "d.json", type: "json", checks: { jsonSchema: '"object"' } })[0]).toContain("got string");
  });

  test.each([
    ["$dynamicRef", { $dynamicRef: "#node" }, 'checks.jsonSchema #/properties/a: unsupported keyword "$dynamicRef"'],
    ["$ref", { $ref: "#/x" }, 'checks.jsonSchema #/properties/a/$ref: cannot resolve "#/x"'],
    ["oneOf", { oneOf: {} }, "checks.jsonSchema #/properties/a/oneOf: must be a non-empty array of schemas"],
  ])("jsonSchema with a bad %s", (_kw, sub, message) => {
    const schema = JSON.stringify({ type: "object", properties: { a: sub } });
    const p = deliverableProblems({ name: "d.json", type: "json", checks: { jsonSchema: schema } });
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(`deliverable "d.json": ${message}`);
  });

  test("jsonSchema with $ref, anyOf, oneOf, allOf, not and if is accepted", () => {
    const schema = JSON.stringify({
      $defs: { s: { type: "string" } },
      type: "object",
      properties: { a: { $ref: "#/$defs/s" }, b: { anyOf: [{ type: "string" }, { type: "null" }] }, c: { oneOf: [{ type: "integer" }] }, d: { allOf: [{}] }, e: { not: { type: "null" } }, f: { if: {}, then: {} } },
    });
    expect(deliverableProblems({ name: "d.json", type: "json", checks: { jsonSchema: schema } })).toEqual([]);
  });

  test("every problem is reported, not just the first", () => {
    const p = deliverableProblems({
      name: "/x.png",
      type: "png",
      checks: { minBytes: -1, minWords: 3, jsonSchema: "{}" },
    });
    expect(p).toHaveLength(4);
  });
});
