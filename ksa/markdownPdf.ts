/**
 * Markdown to PDF with pdf-lib: headings, paragraphs with bold/italic/code runs and word wrap, bullet
 * and numbered lists (nested), code blocks, quotes, tables as rows, rules, page breaks and page numbers.
 *
 * Text is set in DejaVu Sans, DejaVu Sans Bold and DejaVu Sans Mono (the `dejavu-fonts-ttf` package,
 * embedded as subsets through `@pdf-lib/fontkit`), which cover Latin with accents, Greek, Cyrillic,
 * Armenian, Georgian, IPA, arrows, math operators, box drawing and many symbols. Italic is the upright
 * face slanted. A character the style's font lacks is taken from DejaVu Sans when that has it.
 *
 * Characters no embedded font covers (CJK, most emoji, scripts DejaVu lacks) are printed as `?` and
 * listed in the result's `missingChars`; invisible format characters (zero-width space and joiner,
 * soft hyphen, variation selectors, BOM) are dropped. There is no bidirectional layout: a run of
 * Hebrew or Arabic alone is shaped right to left by fontkit, but a line mixing it with left-to-right
 * text may come out in the wrong order.
 *
 * The font files are read from `fonts/` next to the running module (both runtime builds copy them next
 * to the sandbox bundle: `copyPdfFonts`), else from the `dejavu-fonts-ttf` package (running from
 * source or from the published package). Without either, the PDF falls back to pdf-lib's standard
 * fonts, which only encode WinAnsi (Western European): everything else then prints as `?`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fontkit from "@pdf-lib/fontkit";
import { marked, type Token, type Tokens } from "marked";
import { degrees, PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage, type RGB } from "pdf-lib";

/** The TrueType files embedded (as subsets), from the `dejavu-fonts-ttf` package's `ttf/` folder. */
export const PDF_FONT_FILES = { regular: "DejaVuSans.ttf", bold: "DejaVuSans-Bold.ttf", mono: "DejaVuSansMono.ttf" } as const;
/** The folder next to a runtime bundle that holds them (with the fonts' `LICENSE`). */
export const PDF_FONTS_DIR = "fonts";

const PAGE = { width: 595.28, height: 841.89 }; // A4, points
const MARGIN = 56;
const BODY_SIZE = 11;
const CODE_SIZE = 9.5;
const LINE = 1.4;
const HEADING_SIZES = [22, 18, 15, 13, 12, 11];
const LIST_INDENT = 18;
const BLACK = rgb(0.1, 0.1, 0.1);
const GREY = rgb(0.4, 0.4, 0.4);

type Style = "regular" | "bold" | "italic" | "boldItalic" | "mono";
type Run = { text: string; style: Style; color?: RGB };
/** One font as a style uses it: `skew` slants it (the italic styles). */
type Face = { font: PDFFont; chars: ReadonlySet<number>; skew: boolean };
/** Per style, the faces to take each character from, first that has it. */
type Faces = Record<Style, Face[]>;

/** Printed for a character no face has. */
const MISSING = "?";
/** Slant of the italic styles, in degrees (DejaVu Sans Oblique's own angle is 11°). */
const ITALIC_SKEW = 11;
/** Characters that draw nothing: format characters (ZWSP, ZWJ, soft hyphen, bidi marks, BOM) and variation selectors. */
const INVISIBLE = /[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}]/u;
/** At most this many distinct missing characters are listed in the result. */
const MAX_MISSING_LISTED = 100;

/** Readable stand-ins for characters the standard fonts (the fallback without font files) cannot encode. */
const STAND_INS: Record<string, string> = {
  "→": "->", "←": "<-", "⇒": "=>", "↔": "<->", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~",
  "✓": "v", "✔": "v", "✗": "x", "✘": "x", "−": "-", "\u2009": " ",
};

export type PdfResult = {
  bytes: Uint8Array;
  pages: number;
  /** Distinct characters printed as `?` because no embedded font has them (absent when there were none). */
  missingChars?: string;
};

/** Renders markdown to PDF bytes. `title` goes into the document metadata (default: the first heading). */
export async function markdownToPdf(markdown: string, title?: string): Promise<PdfResult> {
  // updateMetadata: false keeps the output deterministic (no creation date), so re-runs hash the same.
  const doc = await PDFDocument.create({ updateMetadata: false });
  const faces = await embedFaces(doc);
  const tokens = marked.lexer(markdown.replace(/\r\n?/g, "\n"));
  const w = new Writer(doc, faces);
  w.blocks(tokens, 0);
  const pages = doc.getPages();
  const numbers = faces.regular[0].font;
  pages.forEach((p, i) => {
    const label = `${i + 1} / ${pages.length}`;
    const width = numbers.widthOfTextAtSize(label, 9);
    p.drawText(label, { x: (PAGE.width - width) / 2, y: MARGIN / 2, size: 9, font: numbers, color: GREY });
  });
  const heading = tokens.find((t): t is Tokens.Heading => t.type === "heading");
  const docTitle = title ?? (heading ? plain(heading.tokens) : undefined);
  if (docTitle) doc.setTitle(w.clean(docTitle, "regular"));
  doc.setProducer("lakitu pdf.fromMarkdown");
  const result: PdfResult = { bytes: await doc.save(), pages: pages.length };
  if (w.missing.size) result.missingChars = [...w.missing].join("");
  return result;
}

// ---------------------------------------------------------------------------------------------
// Fonts

type FontFiles = Record<keyof typeof PDF_FONT_FILES, Uint8Array>;
let fontFiles: FontFiles | null | undefined;
/** Character sets per font file (computing one walks the whole cmap; the files never change). */
const charSets = new Map<string, ReadonlySet<number>>();

/** The `ttf/` folder of the installed `dejavu-fonts-ttf` package, if it can be resolved from `from`. */
export function dejavuFontDir(from: string = import.meta.url): string | undefined {
  try {
    return join(dirname(createRequire(from).resolve("dejavu-fonts-ttf/package.json")), "ttf");
  } catch {
    return undefined;
  }
}

/**
 * Where the font files are: `fonts/` next to this module or one folder up (a runtime bundle, where
 * this module is a chunk in `chunks/`), else the npm package.
 */
export function pdfFontDir(): string | undefined {
  const candidates: string[] = [];
  try {
    for (const up of ["./", "../"]) candidates.push(fileURLToPath(new URL(`${up}${PDF_FONTS_DIR}/`, import.meta.url)));
  } catch {
    // not a file: URL (e.g. bundled into something else); try the package
  }
  const pkg = dejavuFontDir();
  if (pkg) candidates.push(pkg);
  return candidates.find((d) => Object.values(PDF_FONT_FILES).every((f) => existsSync(join(d, f))));
}

/**
 * Copies the font files and their license into `<outdir>/fonts`, where a runtime bundle in `outdir`
 * finds them (the sandbox only sees the bundle folder). `from` is where to resolve the npm package.
 * Returns the folder and the bytes copied.
 */
export function copyPdfFonts(outdir: string, from: string = import.meta.url): { dir: string; bytes: number } {
  const src = dejavuFontDir(from);
  if (!src || !Object.values(PDF_FONT_FILES).every((f) => existsSync(join(src, f)))) {
    throw new Error("the dejavu-fonts-ttf package is not installed; the pdf KSA needs its fonts (npm install dejavu-fonts-ttf)");
  }
  const dir = join(outdir, PDF_FONTS_DIR);
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const f of Object.values(PDF_FONT_FILES)) {
    copyFileSync(join(src, f), join(dir, f));
    bytes += statSync(join(dir, f)).size;
  }
  const license = join(src, "..", "LICENSE");
  if (existsSync(license)) copyFileSync(license, join(dir, "LICENSE"));
  return { dir, bytes };
}

function loadFontFiles(): FontFiles | null {
  if (fontFiles !== undefined) return fontFiles;
  const dir = pdfFontDir();
  fontFiles = dir
    ? {
        regular: readFileSync(join(dir, PDF_FONT_FILES.regular)),
        bold: readFileSync(join(dir, PDF_FONT_FILES.bold)),
        mono: readFileSync(join(dir, PDF_FONT_FILES.mono)),
      }
    : null;
  return fontFiles;
}

function charSet(key: string, font: PDFFont): ReadonlySet<number> {
  let set = charSets.get(key);
  if (!set) charSets.set(key, (set = new Set(font.getCharacterSet())));
  return set;
}

async function embedFaces(doc: PDFDocument): Promise<Faces> {
  const files = loadFontFiles();
  if (!files) {
    // No font files: pdf-lib's standard fonts (WinAnsi only).
    const face = async (name: StandardFonts): Promise<Face> => {
      const font = await doc.embedFont(name);
      return { font, chars: charSet(name, font), skew: false };
    };
    return {
      regular: [await face(StandardFonts.Helvetica)],
      bold: [await face(StandardFonts.HelveticaBold)],
      italic: [await face(StandardFonts.HelveticaOblique)],
      boldItalic: [await face(StandardFonts.HelveticaBoldOblique)],
      mono: [await face(StandardFonts.Courier)],
    };
  }
  doc.registerFontkit(fontkit);
  const embed = async (key: keyof FontFiles) => {
    // subset: only the glyphs used go into the file; customName: no random suffix in the font name;
    // features: pdf-lib draws glyph ids with their advance widths and ignores GPOS positioning, so
    // kerning and mark positioning would only cost layout time (a third of it).
    const font = await doc.embedFont(files[key], {
      subset: true,
      customName: PDF_FONT_FILES[key].replace(/\.ttf$/, ""),
      features: { kern: false, mark: false, mkmk: false },
    });
    return { font, chars: charSet(key, font) };
  };
  const sans = await embed("regular");
  const bold = await embed("bold");
  const mono = await embed("mono");
  const up = (f: { font: PDFFont; chars: ReadonlySet<number> }): Face => ({ ...f, skew: false });
  const slanted = (f: { font: PDFFont; chars: ReadonlySet<number> }): Face => ({ ...f, skew: true });
  return {
    regular: [up(sans)],
    bold: [up(bold), up(sans)],
    italic: [slanted(sans)],
    boldItalic: [slanted(bold), slanted(sans)],
    mono: [up(mono), up(sans)],
  };
}

class Writer {
  private page!: PDFPage;
  private y = 0;
  private font: PDFFont | undefined;
  /** Characters printed as `?` (no face has them). */
  readonly missing = new Set<string>();
  /** Width at size 1 of strings already measured, per font (words repeat; fontkit layout is not free). */
  private readonly widths = new Map<PDFFont, Map<string, number>>();

  constructor(
    private readonly doc: PDFDocument,
    private readonly faces: Faces,
  ) {
    this.newPage();
  }

  blocks(tokens: Token[], indent: number, color: RGB = BLACK): void {
    for (const t of tokens) this.block(t, indent, color);
  }

  private block(t: Token, indent: number, color: RGB): void {
    switch (t.type) {
      case "heading": {
        const size = HEADING_SIZES[Math.min(t.depth, 6) - 1];
        this.gap(size * 0.6);
        this.runs(inline(t.tokens, "bold"), { size, indent, color, keepWithNext: true });
        this.gap(size * 0.3);
        return;
      }
      case "paragraph":
      case "text":
        this.runs(t.tokens ? inline(t.tokens, "regular") : [{ text: decode(t.text), style: "regular" }], { size: BODY_SIZE, indent, color });
        if (t.type === "paragraph") this.gap(6);
        return;
      case "list":
        this.list(t as Tokens.List, indent, color);
        this.gap(4);
        return;
      case "code":
        this.code(t.text, indent);
        this.gap(6);
        return;
      case "blockquote": {
        const top = { page: this.page, y: this.y };
        this.blocks(t.tokens ?? [], indent + 14, GREY);
        if (this.page === top.page) {
          this.page.drawLine({ start: { x: MARGIN + indent + 4, y: top.y }, end: { x: MARGIN + indent + 4, y: this.y + 4 }, thickness: 2, color: rgb(0.8, 0.8, 0.8) });
        }
        return;
      }
      case "table": {
        const table = t as Tokens.Table;
        const row = (cells: Tokens.TableCell[], style: Style) =>
          cells.flatMap((c, i) => [...(i ? [{ text: "   |   ", style: "regular" as Style, color: GREY }] : []), ...inline(c.tokens, style)]);
        this.runs(row(table.header, "bold"), { size: BODY_SIZE - 1, indent, color });
        for (const r of table.rows) this.runs(row(r, "regular"), { size: BODY_SIZE - 1, indent, color });
        this.gap(6);
        return;
      }
      case "hr":
        this.ensure(12);
        this.y -= 6;
        this.page.drawLine({ start: { x: MARGIN + indent, y: this.y }, end: { x: PAGE.width - MARGIN, y: this.y }, thickness: 0.75, color: GREY });
        this.y -= 6;
        return;
      case "html": {
        const text = decode(t.text.replace(/<[^>]*>/g, "")).trim();
        if (text) this.runs([{ text, style: "regular" }], { size: BODY_SIZE, indent, color });
        return;
      }
      case "space":
      case "def":
        return;
      default:
        if ("text" in t && typeof t.text === "string") this.runs([{ text: decode(t.text), style: "regular" }], { size: BODY_SIZE, indent, color });
    }
  }

  private list(list: Tokens.List, indent: number, color: RGB): void {
    const start = typeof list.start === "number" ? list.start : 1;
    list.items.forEach((item, i) => {
      const marker = item.task ? (item.checked ? "[x]" : "[ ]") : list.ordered ? `${start + i}.` : "•";
      const lineHeight = BODY_SIZE * LINE;
      this.ensure(lineHeight);
      const markerWidth = this.width(marker, "regular", BODY_SIZE);
      const y = this.y - lineHeight + (lineHeight - BODY_SIZE) / 2;
      this.text(marker, MARGIN + indent + LIST_INDENT - 5 - markerWidth, y, BODY_SIZE, "regular", color);
      this.blocks(item.tokens, indent + LIST_INDENT, color);
    });
  }

  private code(text: string, indent: number): void {
    const size = CODE_SIZE;
    const lineHeight = size * 1.3;
    const charWidth = this.width("M", "mono", size);
    const maxChars = Math.max(10, Math.floor((PAGE.width - 2 * MARGIN - indent - 12) / charWidth));
    const lines = this.clean(text.replace(/\t/g, "    "), "mono")
      .split("\n")
      .flatMap((l) => (l.length <= maxChars ? [l] : (l.match(new RegExp(`.{1,${maxChars}}`, "gu")) ?? [l])));
    this.gap(2);
    for (const line of lines) {
      this.ensure(lineHeight);
      this.page.drawRectangle({ x: MARGIN + indent, y: this.y - lineHeight, width: PAGE.width - 2 * MARGIN - indent, height: lineHeight, color: rgb(0.95, 0.95, 0.95) });
      this.y -= lineHeight;
      this.text(line, MARGIN + indent + 6, this.y + (lineHeight - size) / 2 + 1.5, size, "mono", BLACK);
    }
  }

  /** Lays out styled runs as word-wrapped lines. */
  private runs(runs: Run[], o: { size: number; indent: number; color: RGB; keepWithNext?: boolean }): void {
    const width = PAGE.width - 2 * MARGIN - o.indent;
    const lineHeight = o.size * LINE;
    const words: Array<Run & { space: boolean }> = [];
    let pendingSpace = false;
    for (const r of runs) {
      for (const part of this.clean(r.text, r.style).split(/(\s+)/)) {
        if (part === "") continue;
        if (/^\s+$/.test(part)) {
          pendingSpace = words.length > 0;
          continue;
        }
        words.push({ ...r, text: part, space: pendingSpace });
        pendingSpace = false;
      }
    }
    if (!words.length) return;
    const lines: Array<Array<Run & { x: number }>> = [[]];
    let x = 0;
    const spaceWidth = this.width(" ", "regular", o.size);
    for (const word of words) {
      for (const piece of this.split(word.text, word.style, o.size, width)) {
        const wWidth = this.width(piece, word.style, o.size);
        const lead = word.space && x > 0 ? spaceWidth : 0;
        if (x > 0 && x + lead + wWidth > width) {
          lines.push([]);
          x = 0;
        }
        const start = x > 0 ? x + lead : 0;
        const line = lines[lines.length - 1];
        const prev = line[line.length - 1];
        // Words of one style on one line are drawn as one string: fewer operators, smaller files.
        if (prev && prev.style === word.style && prev.color === word.color) prev.text += (start > x ? " " : "") + piece;
        else line.push({ ...word, text: piece, x: start });
        x = start + wWidth;
      }
    }
    if (o.keepWithNext) this.ensure(lineHeight * (lines.length + 2));
    for (const line of lines) {
      this.ensure(lineHeight);
      this.y -= lineHeight;
      for (const seg of line) this.text(seg.text, MARGIN + o.indent + seg.x, this.y + (lineHeight - o.size) / 2, o.size, seg.style, seg.color ?? o.color);
    }
  }

  /**
   * Draws text, switching the page's font only when it changes (pdf-lib adds a font resource entry on
   * every switch, and `drawText({ font })` switches twice per call). Characters the style's first face
   * lacks are drawn with the next face that has them.
   */
  private text(text: string, x: number, y: number, size: number, style: Style, color: RGB): void {
    if (!text) return;
    for (const seg of this.segments(text, style)) {
      const font = seg.face.font;
      if (this.font !== font) {
        this.page.setFont(font);
        this.font = font;
      }
      this.page.drawText(seg.text, { x, y, size, color, ...(seg.face.skew ? { ySkew: degrees(ITALIC_SKEW) } : {}) });
      x += this.fontWidth(font, seg.text) * size;
    }
  }

  /** Splits (already cleaned) text into runs of one face each. */
  private segments(text: string, style: Style): Array<{ face: Face; text: string }> {
    const chain = this.faces[style];
    if (chain.length === 1) return [{ face: chain[0], text }];
    const out: Array<{ face: Face; text: string }> = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      const face = chain.find((f) => f.chars.has(cp)) ?? chain[0];
      const last = out[out.length - 1];
      if (last && last.face === face) last.text += ch;
      else out.push({ face, text: ch });
    }
    return out;
  }

  /** Width of (already cleaned) text in a style at `size`. */
  private width(text: string, style: Style, size: number): number {
    let w = 0;
    for (const seg of this.segments(text, style)) w += this.fontWidth(seg.face.font, seg.text);
    return w * size;
  }

  private fontWidth(font: PDFFont, text: string): number {
    let cache = this.widths.get(font);
    if (!cache) this.widths.set(font, (cache = new Map()));
    let w = cache.get(text);
    if (w === undefined) {
      w = font.widthOfTextAtSize(text, 1);
      if (cache.size > 20_000) cache.clear();
      cache.set(text, w);
    }
    return w;
  }

  /** Splits a word wider than the line into pieces that fit. */
  private split(word: string, style: Style, size: number, width: number): string[] {
    if (this.width(word, style, size) <= width) return [word];
    const out: string[] = [];
    let cur = "";
    for (const ch of word) {
      if (cur && this.width(cur + ch, style, size) > width) {
        out.push(cur);
        cur = "";
      }
      cur += ch;
    }
    if (cur) out.push(cur);
    return out;
  }

  /**
   * Makes text drawable in a style: NFC (precomposed accents), tabs as spaces, invisible format
   * characters dropped, and characters no face of the style has replaced by a stand-in or `?`.
   */
  clean(text: string, style: Style): string {
    const chain = this.faces[style];
    const has = (ch: string) => {
      const cp = ch.codePointAt(0)!;
      return chain.some((f) => f.chars.has(cp));
    };
    let out = "";
    for (const ch of text.normalize("NFC")) {
      if (ch === "\n") out += ch;
      else if (ch === "\t") out += " ";
      else if (INVISIBLE.test(ch) || /\p{Cc}/u.test(ch)) continue; // (DejaVu maps some of these to visible glyphs)
      else if (has(ch)) out += ch;
      else if (STAND_INS[ch] !== undefined && [...STAND_INS[ch]].every(has)) out += STAND_INS[ch];
      else {
        out += MISSING;
        if (this.missing.size < MAX_MISSING_LISTED) this.missing.add(ch);
      }
    }
    return out;
  }

  private gap(h: number): void {
    if (this.y < PAGE.height - MARGIN) this.y -= h;
  }

  private ensure(h: number): void {
    if (this.y - h < MARGIN) this.newPage();
  }

  private newPage(): void {
    this.page = this.doc.addPage([PAGE.width, PAGE.height]);
    this.font = undefined;
    this.y = PAGE.height - MARGIN;
  }
}

/** Flattens inline tokens into styled runs. */
function inline(tokens: Token[] | undefined, base: Style): Run[] {
  const out: Run[] = [];
  for (const t of tokens ?? []) {
    switch (t.type) {
      case "strong":
        out.push(...inline(t.tokens, base === "italic" || base === "boldItalic" ? "boldItalic" : "bold"));
        break;
      case "em":
        out.push(...inline(t.tokens, base === "bold" || base === "boldItalic" ? "boldItalic" : "italic"));
        break;
      case "codespan":
        out.push({ text: decode(t.text), style: "mono" });
        break;
      case "link": {
        const label = inline(t.tokens, base);
        out.push(...label);
        if (plain(t.tokens) !== t.href) out.push({ text: ` (${t.href})`, style: base, color: GREY });
        break;
      }
      case "image":
        out.push({ text: `[image: ${t.text || t.href}]`, style: "italic", color: GREY });
        break;
      case "br":
        out.push({ text: " ", style: base });
        break;
      case "html":
        break;
      default:
        if ("tokens" in t && t.tokens?.length) out.push(...inline(t.tokens, base));
        else if ("text" in t && typeof t.text === "string") out.push({ text: decode(t.text), style: base });
    }
  }
  return out;
}

function plain(tokens: Token[] | undefined): string {
  return inline(tokens, "regular").map((r) => r.text).join("");
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", "#39": "'" };

function decode(text: string): string {
  return text.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}
