import { mkdtemp, readFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PDFDocument } from "pdf-lib";
import { beforeEach, describe, expect, test } from "vitest";
import { markdownToPdf } from "../markdownPdf.js";
import { createKsaModule, type KsaModule } from "../module.js";
import { BUILTIN_KSAS } from "./index.js";

let dir: string;
let pdf: KsaModule[string];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ksa-pdf-"));
  const ctx = { workspace: dir, outputDir: join(dir, "out"), gateway: async () => null };
  pdf = createKsaModule(ctx, BUILTIN_KSAS, ["pdf"], "Test").pdf;
});

const SAMPLE = [
  "# Quarterly report",
  "",
  "Intro with **bold**, *italic*, `code` and a [link](https://example.com). Caf\u00e9 \u2014 \u201cquoted\u201d \u2026",
  "",
  "## Findings",
  "",
  "- first point",
  "- second point",
  "  - nested point",
  "- [x] done task",
  "",
  "1. step one",
  "2. step two",
  "",
  "```ts",
  "const x = 1; // a comment that is long enough to need wrapping when the code line is longer than the page is wide",
  "```",
  "",
  "> a quote",
  "",
  "| a | b |",
  "|---|---|",
  "| 1 | 2 |",
  "",
  "---",
  "",
  "###### tiny heading",
].join("\n");

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1");
}

describe("pdf.fromMarkdown", () => {
  test("writes a real PDF at the workspace path, creating folders", async () => {
    const r = (await pdf.fromMarkdown({ markdown: SAMPLE, path: "out/report.pdf", title: "Q3" })) as { path: string; pages: number; bytes: number };
    expect(r.path).toBe("out/report.pdf");
    expect(r.pages).toBe(1);
    const bytes = await readFile(join(dir, "out/report.pdf"));
    expect(r.bytes).toBe(bytes.length);
    expect(text(bytes.subarray(0, 5))).toBe("%PDF-");
    expect(text(bytes).trimEnd().endsWith("%%EOF")).toBe(true);
    const doc = await PDFDocument.load(bytes);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toBe("Q3");
  });

  test("a long document breaks into several pages", async () => {
    const long = Array.from({ length: 40 }, (_, i) => `## Section ${i + 1}\n\n${"Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(12)}\n\n- item a\n- item b\n`).join("\n");
    const r = (await pdf.fromMarkdown({ markdown: long, path: "long.pdf" })) as { pages: number };
    const doc = await PDFDocument.load(await readFile(join(dir, "long.pdf")));
    expect(doc.getPageCount()).toBeGreaterThan(1);
    expect(r.pages).toBe(doc.getPageCount());
    expect(doc.getTitle()).toBe("Section 1");
  });

  test("characters the standard fonts cannot encode (emoji, CJK) become ? instead of crashing", async () => {
    const r = (await pdf.fromMarkdown({ markdown: "# Hello \u{1F680} \u4e16\u754c\n\nArrows \u2192 and \u2713, emoji \u{1F600} in `code \u{1F600}`\n\n```\n\u4e2d\u6587\n```", path: "u.pdf", title: "\u{1F680} launch" })) as { pages: number };
    expect(r.pages).toBe(1);
    const doc = await PDFDocument.load(await readFile(join(dir, "u.pdf")));
    expect(doc.getTitle()).toBe("? launch");
  });

  test("an empty document is still a valid one-page PDF", async () => {
    const { bytes, pages } = await markdownToPdf("");
    expect(pages).toBe(1);
    expect((await PDFDocument.load(bytes)).getPageCount()).toBe(1);
  });

  test("the output is deterministic", async () => {
    const a = await markdownToPdf(SAMPLE, "T");
    const b = await markdownToPdf(SAMPLE, "T");
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });

  test("paths are confined to the workspace", async () => {
    await expect(pdf.fromMarkdown({ markdown: "x", path: "../x.pdf" })).rejects.toThrow('pdf.fromMarkdown: path "../x.pdf" escapes the workspace');
    await expect(pdf.fromMarkdown({ markdown: "x", path: "/tmp/x.pdf" })).rejects.toThrow(/is absolute/);
    await symlink("/etc", join(dir, "etc"));
    await expect(pdf.fromMarkdown({ markdown: "x", path: "etc/x.pdf" })).rejects.toThrow(/outside the workspace/);
  });
});
