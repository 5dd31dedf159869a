/** `pdf`: turns markdown into a real PDF file in the workspace. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { defineKSA } from "../define.js";
import { confine } from "../paths.js";

export const MAX_PDF_MARKDOWN_CHARS = 2 * 1024 * 1024;

export const pdf = defineKSA({
  name: "pdf",
  description:
    "PDF documents: write the content as markdown, get a paginated PDF (headings, paragraphs, lists, code blocks, quotes, tables as rows). Text is set in DejaVu Sans (Latin with accents, Greek, Cyrillic, math symbols, arrows and more); characters it lacks (CJK, most emoji) print as `?` and are listed in the result's `missingChars`.",
  category: "documents",
  defaultAllowed: true,
  functions: {
    fromMarkdown: {
      description:
        'Renders `markdown` to a PDF at `path` (workspace-relative, e.g. "out/report.pdf"; parent folders are created). `title` sets the document title (default: the first heading).',
      params: z.strictObject({
        markdown: z.string().max(MAX_PDF_MARKDOWN_CHARS),
        path: z.string().min(1).max(1024),
        title: z.string().max(500).optional(),
      }),
      result: z.object({ path: z.string(), pages: z.number().int(), bytes: z.number().int(), missingChars: z.string().optional() }),
      local: async (ctx, { markdown, path, title }) => {
        const target = await confine(ctx.workspace, path);
        // Loaded on first use: pdf-lib and the fonts' shaping code are most of the runtime bundle, and
        // every step's worker would otherwise initialise them.
        const { markdownToPdf } = await import("../markdownPdf.js");
        const { bytes, pages, missingChars } = await markdownToPdf(markdown, title);
        await mkdir(dirname(target.real), { recursive: true });
        await writeFile(target.real, bytes);
        return { path: target.rel, pages, bytes: bytes.length, ...(missingChars ? { missingChars } : {}) };
      },
    },
  },
});
