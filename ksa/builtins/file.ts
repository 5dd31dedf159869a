/** `file`: read, write, edit and search text files in the workspace. */
import { open, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { defineKSA } from "../define.js";
import { globToRegExp, normalizePattern, staticPrefix, walk } from "../glob.js";
import { confine } from "../paths.js";

export const DEFAULT_READ_BYTES = 256 * 1024;
export const MAX_READ_BYTES = 10 * 1024 * 1024;
export const MAX_WRITE_BYTES = 20 * 1024 * 1024;
export const DEFAULT_GREP_MATCHES = 100;
export const MAX_GREP_MATCHES = 1000;
/** grep skips files larger than this, and files that look binary. */
export const MAX_GREP_FILE_BYTES = 2 * 1024 * 1024;
const MAX_GREP_LINE_CHARS = 300;

const relPath = z.string().min(1).max(1024);

export const file = defineKSA({
  name: "file",
  description:
    "Files in your workspace (paths are relative to it; absolute paths, `..` and symlinks leading out are refused). Use it to read inputs, keep notes and write drafts; write deliverables under the output folder.",
  category: "workspace",
  defaultAllowed: true,
  functions: {
    read: {
      description: `Reads a UTF-8 text file. Files longer than maxBytes (default ${DEFAULT_READ_BYTES}) are cut and end with a "[truncated ...]" line.`,
      params: z.strictObject({ path: relPath, maxBytes: z.number().int().min(1).max(MAX_READ_BYTES).optional() }),
      result: z.string(),
      local: async (ctx, { path, maxBytes }) => {
        const { real } = await confine(ctx.workspace, path);
        const st = await statOrThrow(real, path);
        if (st.isDirectory()) throw new Error(`"${path}" is a directory; use file.list`);
        const limit = maxBytes ?? DEFAULT_READ_BYTES;
        if (st.size <= limit) return readFile(real, "utf8");
        const buf = Buffer.alloc(limit);
        const fh = await open(real, "r");
        try {
          await fh.read(buf, 0, limit, 0);
        } finally {
          await fh.close();
        }
        return `${buf.toString("utf8")}\n[truncated: showed ${limit} of ${st.size} bytes; pass a larger maxBytes to read more]`;
      },
    },
    write: {
      description: "Writes a UTF-8 text file, replacing it if it exists and creating parent folders.",
      params: z.strictObject({ path: relPath, content: z.string().max(MAX_WRITE_BYTES) }),
      result: z.object({ path: z.string(), bytes: z.number().int() }),
      local: async (ctx, { path, content }) => {
        const { real, rel } = await confine(ctx.workspace, path);
        await mkdir(dirname(real), { recursive: true });
        await writeFile(real, content, "utf8");
        return { path: rel, bytes: Buffer.byteLength(content, "utf8") };
      },
    },
    edit: {
      description:
        "Replaces the exact text `find` with `replace` in a file. Fails when `find` is absent, and when it occurs more than once unless `all: true` (then every occurrence is replaced).",
      params: z.strictObject({ path: relPath, find: z.string().min(1), replace: z.string(), all: z.boolean().optional() }),
      result: z.object({ replacements: z.number().int() }),
      local: async (ctx, { path, find, replace, all }) => {
        const { real } = await confine(ctx.workspace, path);
        await statOrThrow(real, path);
        const text = await readFile(real, "utf8");
        const parts = text.split(find);
        const count = parts.length - 1;
        if (count === 0) throw new Error(`the text to find does not occur in "${path}"`);
        if (count > 1 && !all) {
          throw new Error(`the text to find occurs ${count} times in "${path}"; include more context to make it unique, or pass all: true`);
        }
        await writeFile(real, parts.join(replace), "utf8");
        return { replacements: count };
      },
    },
    list: {
      description: "Lists a folder (default: the workspace root): entry names, folders with a trailing `/`, sorted.",
      params: z.strictObject({ path: z.string().max(1024).optional() }),
      result: z.array(z.string()),
      local: async (ctx, { path }) => {
        const { real } = await confine(ctx.workspace, path || ".");
        const st = await statOrThrow(real, path || ".");
        if (!st.isDirectory()) throw new Error(`"${path}" is not a folder`);
        const entries = await readdir(real, { withFileTypes: true });
        return entries.map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).sort();
      },
    },
    glob: {
      description:
        "Finds workspace paths matching a pattern: `*` (within a folder), `?` (one character), `**` (any depth), e.g. `**/*.md`. Folders end with `/`. Sorted.",
      params: z.strictObject({ pattern: z.string().min(1).max(1024) }),
      result: z.array(z.string()),
      local: async (ctx, { pattern }) => {
        const found: string[] = [];
        for await (const e of matching(ctx.workspace, pattern)) found.push(e.kind === "dir" ? `${e.rel}/` : e.rel);
        return found.sort();
      },
    },
    grep: {
      description: `Searches text files for a regular expression (JavaScript syntax), optionally only files matching \`glob\`. Returns up to maxMatches (default ${DEFAULT_GREP_MATCHES}) matching lines with their 1-based line numbers; skips binary files and files over ${MAX_GREP_FILE_BYTES} bytes.`,
      params: z.strictObject({
        pattern: z.string().min(1).max(1000),
        glob: z.string().min(1).max(1024).optional(),
        maxMatches: z.number().int().min(1).max(MAX_GREP_MATCHES).optional(),
      }),
      result: z.array(z.object({ path: z.string(), line: z.number().int(), text: z.string() })),
      local: async (ctx, { pattern, glob, maxMatches }) => {
        let re: RegExp;
        try {
          re = new RegExp(pattern);
        } catch (e) {
          throw new Error(`pattern is not a valid regular expression: ${(e as Error).message}`);
        }
        const limit = maxMatches ?? DEFAULT_GREP_MATCHES;
        const files: Array<{ rel: string; abs: string }> = [];
        for await (const e of matching(ctx.workspace, glob ?? "**")) if (e.kind === "file") files.push(e);
        files.sort((a, b) => (a.rel < b.rel ? -1 : 1));
        const out: Array<{ path: string; line: number; text: string }> = [];
        for (const f of files) {
          const st = await stat(f.abs);
          if (st.size > MAX_GREP_FILE_BYTES) continue;
          const buf = await readFile(f.abs);
          if (buf.subarray(0, 8192).includes(0)) continue;
          const lines = buf.toString("utf8").split(/\r?\n/);
          for (let i = 0; i < lines.length; i++) {
            if (!re.test(lines[i])) continue;
            out.push({ path: f.rel, line: i + 1, text: lines[i].length > MAX_GREP_LINE_CHARS ? `${lines[i].slice(0, MAX_GREP_LINE_CHARS)}…` : lines[i] });
            if (out.length >= limit) return out;
          }
        }
        return out;
      },
    },
  },
});

/** Entries under the workspace whose relative path matches `pattern`; symlinks are never entered. */
async function* matching(workspace: string, pattern: string) {
  const norm = normalizePattern(pattern);
  if (pattern.startsWith("/")) throw new Error(`pattern "${pattern}" is absolute; give a pattern relative to the workspace`);
  const re = globToRegExp(norm);
  const start = await confine(workspace, staticPrefix(norm) || ".", "pattern");
  for await (const e of walk(start.real, start.rel)) if (re.test(e.rel)) yield e;
}

async function statOrThrow(real: string, path: string) {
  try {
    return await stat(real);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`"${path}" does not exist`);
    throw e;
  }
}
