/** `lakitu build`'s runtime bundle carries the pdf KSA's fonts (the sandbox sees only that folder). */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { dejavuFontDir, PDF_FONT_FILES, PDF_FONTS_DIR } from "../../ksa/markdownPdf.js";
import { bundleRuntime } from "./bundle.js";

let out: string | undefined;
afterEach(() => {
  if (out) rmSync(out, { recursive: true, force: true });
  out = undefined;
});

test("bundleRuntime copies the DejaVu fonts and their license into <outdir>/fonts", async () => {
  out = mkdtempSync(join(tmpdir(), "lakitu-bundle-"));
  const files = await bundleRuntime(join(out, "runtime"), []);
  // The entries, plus chunks loaded on first use (the pdf KSA's code among them).
    const names = files.map((f) => f.split("/").slice(-2).join("/"));
    expect(names.filter((f) => !f.startsWith("chunks/")).map((f) => f.split("/").pop()).sort()).toEqual(["main.js", "worker.js"]);
    expect(names.some((f) => /^chunks\/markdownPdf-/.test(f))).toBe(true);
  const fonts = join(out, "runtime", PDF_FONTS_DIR);
  expect(readdirSync(fonts).sort()).toEqual([...Object.values(PDF_FONT_FILES), "LICENSE"].sort());
  for (const f of Object.values(PDF_FONT_FILES)) expect(statSync(join(fonts, f)).size).toBe(statSync(join(dejavuFontDir()!, f)).size);
}, 120_000);
