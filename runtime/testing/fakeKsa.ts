/**
 * A small KSA set for runtime tests, loaded by the step worker instead of the built-ins
 * (`ksaModule` option). It uses the real `createKsaModule`, so policy and validation behave as in
 * production; the functions are minimal.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { createKsaModule, defineKSA, resolveAllowed, type KsaDefinition } from "../../ksa/index.js";

export { createKsaModule, resolveAllowed };

export const BUILTIN_KSAS: KsaDefinition[] = [
  defineKSA({
    name: "file",
    description: "Workspace files (fake).",
    category: "workspace",
    defaultAllowed: true,
    functions: {
      write: {
        description: "Writes a text file.",
        params: z.object({ path: z.string(), content: z.string() }),
        result: z.object({ bytes: z.number() }),
        local: async (ctx, { path, content }) => {
          const full = resolve(ctx.workspace, path);
          await mkdir(dirname(full), { recursive: true });
          await writeFile(full, content);
          return { bytes: Buffer.byteLength(content) };
        },
      },
      read: {
        description: "Reads a text file.",
        params: z.object({ path: z.string() }),
        result: z.string(),
        local: async (ctx, { path }) => readFile(resolve(ctx.workspace, path), "utf8"),
      },
    },
  }),
  defineKSA({
    name: "artifacts",
    description: "Deliverables (fake).",
    category: "output",
    defaultAllowed: true,
    functions: {
      save: {
        description: "Saves a file into the output folder.",
        params: z.object({ name: z.string(), content: z.string() }),
        result: z.object({ name: z.string() }),
        local: async (ctx, { name, content }) => {
          const full = resolve(ctx.outputDir, name);
          await mkdir(dirname(full), { recursive: true });
          await writeFile(full, content);
          return { name };
        },
      },
    },
  }),
  defineKSA({
    name: "remote",
    description: "A gateway KSA (fake): runs in the component.",
    category: "network",
    defaultAllowed: true,
    functions: {
      echo: { description: "Echoes through the component.", params: z.object({ value: z.string() }), result: z.unknown(), gateway: true },
    },
  }),
];
