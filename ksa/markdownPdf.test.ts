/**
 * markdownToPdf with the embedded DejaVu fonts: the text of the PDF is read back through each font's
 * ToUnicode map (what a viewer's copy/paste and search use), so "not replaced by ?" is checked on the
 * file itself, not on our intermediate strings.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePDFRawStream, PDFArray, PDFDict, PDFDocument, PDFName, PDFRawStream, PDFRef, type PDFPage } from "pdf-lib";
import { afterAll, describe, expect, test, vi } from "vitest";
import { runBuiltStep } from "../runtime/testing/builtStep.js";
import { buildRuntime } from "../scripts/build-runtime.js";
import { copyPdfFonts, dejavuFontDir, markdownToPdf, PDF_FONT_FILES, PDF_FONTS_DIR, pdfFontDir } from "./markdownPdf.js";

type Drawn = { font: string; text: string; skewed: boolean };

function decode(stream: PDFRawStream): string {
  return Buffer.from(decodePDFRawStream(stream).decode()).toString("latin1");
}

/** glyph code (4 hex digits) → text, from a ToUnicode CMap (bfchar entries, as pdf-lib writes them). */
function toUnicode(cmap: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const block of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const [, code, hex] of block[1].matchAll(/<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>/g)) {
      const units = hex.match(/.{4}/g)!.map((u) => parseInt(u, 16));
      map.set(code.toUpperCase(), String.fromCharCode(...units));
    }
  }
  return map;
}

/** Every text show operation of a page: the font's BaseFont, the text via ToUnicode, and whether it is slanted. */
function drawn(doc: PDFDocument, page: PDFPage): Drawn[] {
  const fonts = page.node.Resources()!.lookup(PDFName.of("Font"), PDFDict);
  const contents = page.node.Contents()!;
  const streams = contents instanceof PDFArray ? contents.asArray().map((r) => doc.context.lookup(r as PDFRef) as PDFRawStream) : [contents as PDFRawStream];
  const out: Drawn[] = [];
  let font = "";
  let map = new Map<string, string>();
  let skewed = false;
  for (const line of streams.map(decode).join("\n").split("\n")) {
    const tf = /^\/(\S+) [\d.]+ Tf$/.exec(line);
    if (tf) {
      const dict = doc.context.lookup(fonts.get(PDFName.of(tf[1])), PDFDict);
      font = dict.get(PDFName.of("BaseFont"))!.toString().slice(1);
      const tu = dict.get(PDFName.of("ToUnicode"));
      map = tu ? toUnicode(decode(doc.context.lookup(tu) as PDFRawStream)) : new Map();
    }
    const tm = /^1 0 (\S+) 1 \S+ \S+ Tm$/.exec(line);
    if (tm) skewed = Number(tm[1]) !== 0;
    const tj = /^<([0-9A-Fa-f]*)> Tj$/.exec(line);
    if (tj && map.size) out.push({ font, skewed, text: (tj[1].match(/.{4}/g) ?? []).map((c) => map.get(c.toUpperCase()) ?? "\uFFFD").join("") });
    // a standard font (no ToUnicode): one WinAnsi byte per character
    else if (tj) out.push({ font, skewed, text: Buffer.from(tj[1], "hex").toString("latin1") });
  }
  return out;
}

async function pdfText(bytes: Uint8Array): Promise<{ doc: PDFDocument; runs: Drawn[]; text: string }> {
  const doc = await PDFDocument.load(bytes);
  const runs = doc.getPages().flatMap((p) => drawn(doc, p));
  return { doc, runs, text: runs.map((r) => r.text).join(" ") };
}

/** The fonts of the document: name, subtype, and whether the font program is embedded. */
function fontsOf(doc: PDFDocument): Array<{ name: string; subtype: string; embedded: boolean }> {
  const out: Array<{ name: string; subtype: string; embedded: boolean }> = [];
  for (const [, obj] of doc.context.enumerateIndirectObjects()) {
    if (!(obj instanceof PDFDict) || obj.get(PDFName.of("Type"))?.toString() !== "/FontDescriptor") continue;
    out.push({ name: obj.get(PDFName.of("FontName"))!.toString().slice(1), subtype: "", embedded: obj.has(PDFName.of("FontFile2")) });
  }
  for (const [, obj] of doc.context.enumerateIndirectObjects()) {
    if (!(obj instanceof PDFDict) || obj.get(PDFName.of("Type"))?.toString() !== "/Font") continue;
    const subtype = obj.get(PDFName.of("Subtype"))!.toString().slice(1);
    if (subtype === "Type0" || subtype === "Type1") out.push({ name: obj.get(PDFName.of("BaseFont"))!.toString().slice(1), subtype, embedded: false });
  }
  return out;
}

const UNICODE = [
  "# Привет, мир — Ελληνικά",
  "",
  "Café naïve façade Ærøskøbing Łódź Šťastný, Cyrillic *курсив* and **жирный**, Greek αβγ ΔΣΩ.",
  "",
  "Math ∀x ∈ ℝ: x² ≥ 0, ∑ ≠ ∞ ≈ π; arrows → ← ⇒ ↔; check ✓.",
].join("\n");

describe("Unicode text with the embedded DejaVu fonts", () => {
  test("Cyrillic, Greek, accented Latin, math and arrows come out as themselves, in embedded TrueType fonts", async () => {
    const r = await markdownToPdf(UNICODE);
    expect(r.missingChars).toBeUndefined();
    const { doc, text } = await pdfText(r.bytes);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toBe("Привет, мир — Ελληνικά");
    for (const s of ["Привет, мир — Ελληνικά", "Café naïve façade Ærøskøbing Łódź Šťastný, Cyrillic", "курсив", "жирный", "Greek αβγ ΔΣΩ.", "∀x ∈ ℝ: x² ≥ 0, ∑ ≠ ∞ ≈ π;", "→ ← ⇒ ↔; check ✓."]) {
      expect(text).toContain(s);
    }
    expect(text).not.toContain("?");
    const fonts = fontsOf(doc);
    expect(fonts.filter((f) => f.subtype === "Type1")).toEqual([]); // no standard (WinAnsi) font
    expect(fonts.filter((f) => f.subtype === "Type0").map((f) => f.name).sort()).toEqual(["DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"]);
    expect(fonts.filter((f) => f.subtype === "").every((f) => f.embedded)).toBe(true);
  });

  test("fonts are embedded as subsets: a short document stays small", async () => {
    const r = await markdownToPdf("# Отчёт\n\nКороткий текст.");
    expect(r.bytes.length).toBeLessThan(40_000); // the three full fonts are 1.8 MB
  });

  test("headings and bold use DejaVu Sans Bold, italic is slanted, code uses DejaVu Sans Mono", async () => {
    const md = "# Заголовок\n\nобычный **жирный** *курсив* ***оба*** `код`\n\n```\nфункция λ() → 1\n```\n";
    const { runs } = await pdfText((await markdownToPdf(md)).bytes);
    const find = (s: string) => runs.find((r) => r.text.includes(s));
    expect(find("Заголовок")).toMatchObject({ font: "DejaVuSans-Bold", skewed: false });
    expect(find("обычный")).toMatchObject({ font: "DejaVuSans", skewed: false });
    expect(find("жирный")).toMatchObject({ font: "DejaVuSans-Bold", skewed: false });
    expect(find("курсив")).toMatchObject({ font: "DejaVuSans", skewed: true });
    expect(find("оба")).toMatchObject({ font: "DejaVuSans-Bold", skewed: true });
    expect(find("код")).toMatchObject({ font: "DejaVuSansMono", skewed: false });
    expect(find("функция λ() → 1")).toMatchObject({ font: "DejaVuSansMono" });
  });

  test("a character the style's font lacks is taken from DejaVu Sans (letterlike symbols in code)", async () => {
    const { runs } = await pdfText((await markdownToPdf("`x = ℓ ℘ y`")).bytes);
    expect(runs.map((r) => [r.font, r.text])).toEqual([
      ["DejaVuSansMono", "x = "],
      ["DejaVuSans", "ℓ"],
      ["DejaVuSansMono", " "],
      ["DejaVuSans", "℘"],
      ["DejaVuSansMono", " y"],
      ["DejaVuSans", "1 / 1"],
    ]);
  });

  test("characters no font has (CJK, emoji) print as ? and are listed; invisible ones are dropped", async () => {
    const r = await markdownToPdf("# 世界 report\n\nLaunch 🚀 now\u200b, soft\u00adhyphen, e\u0301 composed, ❤\ufe0f");
    expect(r.missingChars).toBe("世界🚀");
    const { text } = await pdfText(r.bytes);
    expect(text).toBe("?? report Launch ? now, softhyphen, é composed, ❤ 1 / 1");
  });

  test("the output is deterministic with embedded fonts", async () => {
    const a = await markdownToPdf(UNICODE, "T");
    const b = await markdownToPdf(UNICODE, "T");
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });

  test("without font files it falls back to the standard fonts (WinAnsi, the rest as ?)", async () => {
    vi.resetModules();
    vi.doMock("node:fs", async (importOriginal) => {
      const fs = await importOriginal<typeof import("node:fs")>();
      return { ...fs, existsSync: (p: import("node:fs").PathLike) => !String(p).endsWith(".ttf") && fs.existsSync(p) };
    });
    try {
      const fresh = (await import("./markdownPdf.js")) as typeof import("./markdownPdf.js");
      expect(fresh.pdfFontDir()).toBeUndefined();
      const r = await fresh.markdownToPdf("# Café Привет → x");
      expect(r.missingChars).toBe("Привет");
      const { doc, text } = await pdfText(r.bytes);
      expect(fontsOf(doc).map((f) => f.name)).toContain("Helvetica-Bold");
      expect(fontsOf(doc).filter((f) => f.subtype === "Type0")).toEqual([]);
      expect(doc.getTitle()).toBe("Café ?????? -> x");
      expect(text).toBe("Café ?????? -> x 1 / 1");
    } finally {
      vi.doUnmock("node:fs");
      vi.resetModules();
    }
  });
});

describe("where the fonts come from", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  test("from source, the dejavu-fonts-ttf package", () => {
    expect(pdfFontDir()).toBe(dejavuFontDir());
    expect(dejavuFontDir()).toMatch(/node_modules\/dejavu-fonts-ttf\/ttf$/);
  });

  test("copyPdfFonts puts the three fonts and their license in <outdir>/fonts", () => {
    const out = temp("lakitu-fonts-");
    const { dir, bytes } = copyPdfFonts(out);
    expect(dir).toBe(join(out, PDF_FONTS_DIR));
    const files = Object.values(PDF_FONT_FILES);
    for (const f of files) expect(readFileSync(join(dir, f)).equals(readFileSync(join(dejavuFontDir()!, f)))).toBe(true);
    expect(bytes).toBe(files.reduce((n, f) => n + statSync(join(dir, f)).size, 0));
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toContain("Bitstream Vera");
  });

  test("scripts/build-runtime.ts puts them next to the bundle, and the bundled pdf KSA uses them without node_modules", async () => {
    const out = temp("lakitu-pdf-rt-");
    // The bundle must not be able to fall back to a dejavu-fonts-ttf package above it.
    for (let d = out; ; d = join(d, "..")) {
      expect(existsSync(join(d, "node_modules", "dejavu-fonts-ttf"))).toBe(false);
      if (join(d, "..") === d) break;
    }
    const files = await buildRuntime({ outdir: out });
    // The pdf code is a chunk in chunks/, which finds the fonts one folder up.
    expect(files.some((f) => /chunks\/markdownPdf-[\w-]+\.js$/.test(f))).toBe(true);
    for (const f of Object.values(PDF_FONT_FILES)) expect(statSync(join(out, PDF_FONTS_DIR, f)).size).toBe(statSync(join(dejavuFontDir()!, f)).size);

    const ws = temp("lakitu-pdf-ws-");
    const code = 'const { pdf } = require("lakitu/ksa");\nconsole.log(JSON.stringify(await pdf.fromMarkdown({ markdown: "# Привет, мир\\n\\nΕλληνικά **и жирный** `код` 中", path: "out/u.pdf" })));';
    const step = await runBuiltStep(join(out, "worker.js"), ["pdf"], code, { workspace: ws, stageName: "Fonts" });
    expect(step.error, step.output).toBeUndefined();
    expect(JSON.parse(step.output.trim())).toMatchObject({ path: "out/u.pdf", pages: 1, missingChars: "中" });
    const { doc, text } = await pdfText(readFileSync(join(ws, "out/u.pdf")));
    expect(text).toContain("Привет, мир");
    expect(text).toContain("Ελληνικά");
    expect(fontsOf(doc).filter((f) => f.subtype === "Type0").map((f) => f.name).sort()).toEqual(["DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"]);
  }, 120_000);
});
