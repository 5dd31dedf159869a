/**
 * Markdown to PDF with pdf-lib's standard fonts: headings, paragraphs with bold/italic/code runs and
 * word wrap, bullet and numbered lists (nested), code blocks, quotes, tables as rows, rules, page
 * breaks and page numbers. Standard fonts only encode WinAnsi, so other characters become `?`.
 */
import { marked, type Token, type Tokens } from "marked";
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage, type RGB } from "pdf-lib";

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
type Fonts = Record<Style, PDFFont>;

/** Common characters outside WinAnsi with a readable ASCII stand-in (anything else becomes `?`). */
const STAND_INS: Record<string, string> = {
  "→": "->", "←": "<-", "⇒": "=>", "↔": "<->", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~",
  "✓": "v", "✔": "v", "✗": "x", "✘": "x", "−": "-", "\u2009": " ", "\u200b": "", "\ufeff": "",
};

export type PdfResult = { bytes: Uint8Array; pages: number };

/** Renders markdown to PDF bytes. `title` goes into the document metadata (default: the first heading). */
export async function markdownToPdf(markdown: string, title?: string): Promise<PdfResult> {
  // updateMetadata: false keeps the output deterministic (no creation date), so re-runs hash the same.
  const doc = await PDFDocument.create({ updateMetadata: false });
  const fonts: Fonts = {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    italic: await doc.embedFont(StandardFonts.HelveticaOblique),
    boldItalic: await doc.embedFont(StandardFonts.HelveticaBoldOblique),
    mono: await doc.embedFont(StandardFonts.Courier),
  };
  const tokens = marked.lexer(markdown.replace(/\r\n?/g, "\n"));
  const w = new Writer(doc, fonts);
  w.blocks(tokens, 0);
  const pages = doc.getPages();
  pages.forEach((p, i) => {
    const label = `${i + 1} / ${pages.length}`;
    const width = fonts.regular.widthOfTextAtSize(label, 9);
    p.drawText(label, { x: (PAGE.width - width) / 2, y: MARGIN / 2, size: 9, font: fonts.regular, color: GREY });
  });
  const heading = tokens.find((t): t is Tokens.Heading => t.type === "heading");
  const docTitle = title ?? (heading ? plain(heading.tokens) : undefined);
  if (docTitle) doc.setTitle(w.clean(docTitle, "regular"));
  doc.setProducer("lakitu pdf.fromMarkdown");
  return { bytes: await doc.save(), pages: pages.length };
}

class Writer {
  private page!: PDFPage;
  private y = 0;
  private font: PDFFont | undefined;
  private readonly charsets: Record<Style, Set<number>>;

  constructor(
    private readonly doc: PDFDocument,
    private readonly fonts: Fonts,
  ) {
    const set = (f: PDFFont) => new Set(f.getCharacterSet());
    const text = set(fonts.regular);
    this.charsets = { regular: text, bold: text, italic: text, boldItalic: text, mono: set(fonts.mono) };
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
      const markerWidth = this.fonts.regular.widthOfTextAtSize(marker, BODY_SIZE);
      const y = this.y - lineHeight + (lineHeight - BODY_SIZE) / 2;
      this.text(marker, MARGIN + indent + LIST_INDENT - 5 - markerWidth, y, BODY_SIZE, "regular", color);
      this.blocks(item.tokens, indent + LIST_INDENT, color);
    });
  }

  private code(text: string, indent: number): void {
    const size = CODE_SIZE;
    const lineHeight = size * 1.3;
    const charWidth = this.fonts.mono.widthOfTextAtSize("M", size);
    const maxChars = Math.max(10, Math.floor((PAGE.width - 2 * MARGIN - indent - 12) / charWidth));
    const lines = this.clean(text.replace(/\t/g, "    "), "mono")
      .split("\n")
      .flatMap((l) => (l.length <= maxChars ? [l] : (l.match(new RegExp(`.{1,${maxChars}}`, "g")) ?? [l])));
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
    const spaceWidth = this.fonts.regular.widthOfTextAtSize(" ", o.size);
    for (const word of words) {
      const font = this.fonts[word.style];
      for (const piece of this.split(word.text, font, o.size, width)) {
        const wWidth = font.widthOfTextAtSize(piece, o.size);
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
   * every switch, and `drawText({ font })` switches twice per call).
   */
  private text(text: string, x: number, y: number, size: number, style: Style, color: RGB): void {
    if (!text) return;
    const font = this.fonts[style];
    if (this.font !== font) {
      this.page.setFont(font);
      this.font = font;
    }
    this.page.drawText(text, { x, y, size, color });
  }

  /** Splits a word wider than the line into pieces that fit. */
  private split(word: string, font: PDFFont, size: number, width: number): string[] {
    if (font.widthOfTextAtSize(word, size) <= width) return [word];
    const out: string[] = [];
    let cur = "";
    for (const ch of word) {
      if (cur && font.widthOfTextAtSize(cur + ch, size) > width) {
        out.push(cur);
        cur = "";
      }
      cur += ch;
    }
    if (cur) out.push(cur);
    return out;
  }

  /** Replaces characters the font cannot encode. */
  clean(text: string, style: Style): string {
    const set = this.charsets[style];
    let out = "";
    for (const ch of text) {
      if (ch === "\n" || set.has(ch.codePointAt(0)!)) out += ch;
      else if (ch === "\t") out += " ";
      else out += STAND_INS[ch] ?? "?";
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
