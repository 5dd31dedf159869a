/** `artifacts`: writes deliverables into the output folder; the runtime uploads everything there. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { artifactNameProblem } from "../../convex/shared/names.js";
import { defineKSA } from "../define.js";
import type { KsaContext } from "../types.js";
import { walk } from "../glob.js";
import { confine, toRel } from "../paths.js";

export const MAX_ARTIFACT_CONTENT_CHARS = 20 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const artifacts = defineKSA({
  name: "artifacts",
  description:
    "Deliverables: `save` writes a file into the output folder, from where it is uploaded and checked when you finish. Name files as the stage's deliverables are named.",
  category: "output",
  defaultAllowed: true,
  functions: {
    save: {
      description:
        'Saves an artifact under `name` (a relative path inside the output folder, e.g. "report.md" or "charts/q1.png"), replacing it if it exists. `encoding: "base64"` for binary content; default "utf8".',
      params: z.strictObject({
        name: z.string().min(1).max(200),
        content: z.string().max(MAX_ARTIFACT_CONTENT_CHARS),
        encoding: z.enum(["utf8", "base64"]).optional(),
      }),
      result: z.object({ name: z.string(), path: z.string(), bytes: z.number().int() }),
      local: async (ctx, { name, content, encoding }) => {
        const problem = artifactNameProblem(name);
        if (problem) throw new Error(problem);
        const bytes = encoding === "base64" ? decodeBase64(content) : Buffer.from(content, "utf8");
        const out = await outputFolder(ctx);
        await mkdir(out.real, { recursive: true });
        const target = await confine(out.real, name, "name");
        await mkdir(dirname(target.real), { recursive: true });
        await writeFile(target.real, bytes);
        return { name, path: out.rel ? `${out.rel}/${target.rel}` : target.rel, bytes: bytes.length };
      },
    },
    list: {
      description: "Lists the artifacts saved so far: names relative to the output folder, sorted, including subfolders.",
      params: z.strictObject({}),
      result: z.array(z.string()),
      local: async (ctx) => {
        const out = await outputFolder(ctx);
        const names: string[] = [];
        for await (const e of walk(out.real, "")) if (e.kind === "file") names.push(e.rel);
        return names.sort();
      },
    },
  },
});

/** The output folder, itself confined to the workspace (it may not exist yet). */
function outputFolder(ctx: KsaContext) {
  return confine(ctx.workspace, toRel(ctx.workspace, ctx.outputDir) || ".", "outputDir");
}

function decodeBase64(content: string): Buffer {
  const compact = content.replace(/\s+/g, "");
  if (!BASE64.test(compact) || compact.length % 4 === 1) throw new Error('content is not valid base64 (encoding: "base64")');
  return Buffer.from(compact, "base64");
}
