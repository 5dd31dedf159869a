/**
 * Fixture apps for the CLI tests, as file maps (kept out of the repo's own typecheck, which would not
 * resolve "lakitu"). `makeApp` writes one into a fresh temp folder whose node_modules links to the
 * repo's, so tsc, esbuild and vitest resolve convex, zod and friends as an installed app would.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type Fixture = { name: string; functionsDir: string; files: Record<string, string> };

const pkg = (name: string, extra: Record<string, string> = {}) =>
  `${JSON.stringify({ name, private: true, type: "module", dependencies: { convex: "^1.48.0", lakitu: "^0.1.0", zod: "^4.0.0", ...extra } }, null, 2)}\n`;

/** A new Convex app: functions folder, one query, no config, no crons. */
export const fresh: Fixture = {
  name: "fresh",
  functionsDir: "convex",
  files: {
    "package.json": pkg("fresh-app"),
    "convex/hello.ts": `import { query } from "./_generated/server";

export const hello = query({ args: {}, handler: async () => "hello" });
`,
  },
};

/** An app that already installs other components, formatted its own way (single quotes, no semicolons). */
export const withComponents: Fixture = {
  name: "with-components",
  functionsDir: "convex",
  files: {
    "package.json": pkg("components-app", { "@convex-dev/workflow": "^0.4.8" }),
    "convex/convex.config.ts": `// The app's components.
import { defineApp } from 'convex/server'
import { v } from 'convex/values'
import workflow from '@convex-dev/workflow/convex.config.js'

const app = defineApp({
    env: {
        SLACK_WEBHOOK: v.optional(v.string()),
    },
})
app.use(workflow) // durable jobs
app.use(workflow, { name: 'otherWorkflow' })

export default app
`,
    "convex/schema.ts": `import { defineSchema, defineTable } from 'convex/server'
import { v } from 'convex/values'

export default defineSchema({
    notes: defineTable({ text: v.string() }),
})
`,
    "convex/notes.ts": `import { v } from 'convex/values'
import { mutation } from './_generated/server'

export const add = mutation({ args: { text: v.string() }, handler: async (ctx, { text }) => await ctx.db.insert('notes', { text }) })
`,
  },
};

/** An app with crons of its own, `.js` import specifiers and an existing .env.example. */
export const withCrons: Fixture = {
  name: "with-crons",
  functionsDir: "convex",
  files: {
    "package.json": pkg("crons-app"),
    ".env.example": "# The app's settings\nSITE_NAME=\nOPENAI_API_KEY=\n",
    "convex/crons.ts": `import { cronJobs } from "convex/server";
import { internal } from "./_generated/api.js";

const crons = cronJobs();

// Nightly cleanup.
crons.daily("cleanup", { hourUTC: 3, minuteUTC: 0 }, internal.maintenance.cleanup, {});

export default crons;
`,
    "convex/maintenance.ts": `import { internalMutation } from "./_generated/server.js";

export const cleanup = internalMutation({ args: {}, handler: async () => null });
`,
  },
};

/** `convex.json` points the functions somewhere else. */
export const customDir: Fixture = {
  name: "custom-dir",
  functionsDir: "src/backend",
  files: {
    "package.json": pkg("custom-dir-app"),
    "convex.json": `{ "functions": "src/backend/" }\n`,
    "src/backend/health.ts": `import { query } from "./_generated/server";

export const ping = query({ args: {}, handler: async () => "pong" });
`,
  },
};

export const FIXTURES = [fresh, withComponents, withCrons, customDir];

export type App = { root: string; functionsDir: string; cleanup(): void };

/** Writes the fixture (plus `extra` files) into a temp folder linked to the repo's node_modules. */
export function makeApp(fixture: Fixture | Record<string, string>, extra: Record<string, string> = {}): App {
  const f: Fixture = "files" in fixture && typeof fixture.files === "object" ? (fixture as Fixture) : { name: "custom", functionsDir: "convex", files: fixture as Record<string, string> };
  const root = mkdtempSync(join(tmpdir(), `lakitu-${f.name}-`));
  for (const [path, content] of Object.entries({ ...f.files, ...extra })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"), "dir");
  return { root, functionsDir: join(root, f.functionsDir), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
