import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { customDir, fresh, makeApp, REPO, withComponents, withCrons, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";
import { installCommands } from "../init/deps.js";

const apps: App[] = [];
afterEach(() => {
  for (const a of apps.splice(0)) a.cleanup();
});
function app(...args: Parameters<typeof makeApp>): App {
  const a = makeApp(...args);
  apps.push(a);
  return a;
}

/** Every file of the app (but node_modules) with its content. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === "node_modules") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(root, p)] = readFileSync(p, "utf8");
    }
  };
  walk(root);
  return out;
}
function isSubsequence(small: string[], big: string[]): boolean {
  let at = 0;
  for (const l of small) {
    at = big.indexOf(l, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}
const read = (a: App, p: string) => readFileSync(join(a.root, p), "utf8");

describe("lakitu init", () => {
  test("a fresh app: writes config, functions, provider, env list, KSA folder and manifest; no cron", async () => {
    const a = app(fresh);
    const r = await lakitu(a.root, ["init"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Next steps");
    const config = read(a, "convex/convex.config.ts");
    expect(config).toContain('import lakitu from "lakitu/convex.config.js";');
    expect(config).toContain("OPENAI_API_KEY: v.optional(v.string()),");
    expect(config).toMatch(/app\.use\(lakitu, \{\n {2}httpPrefix: "\/lakitu\/",\n {2}env: \{\n {4}OPENAI_API_KEY: app\.env\.OPENAI_API_KEY,/);
    expect(read(a, "convex/lakitu.ts")).toContain("⚠️ AUTH CHECK");
    expect(read(a, "convex/lakitu.ts")).toContain("internal.lakitu_sandbox.provider");
    expect(read(a, "convex/lakitu_sandbox.ts")).toMatch(/^"use node";/);
    // The component runs its own reaper: the app gets no crons.ts and no reap function.
    expect(existsSync(join(a.root, "convex/crons.ts"))).toBe(false);
    expect(read(a, "convex/lakitu.ts")).not.toContain("lakitu.reap(");
    // Annotated, so that TypeScript 5 does not report TS7022 for the self-referencing module.
    expect(read(a, "convex/lakitu.ts")).toContain("export const lakitu: Lakitu = new Lakitu(");
    for (const v of ["E2B_API_KEY=", "OPENAI_API_KEY=", "OPENROUTER_API_KEY=", "ANTHROPIC_API_KEY=", "LAKITU_E2B_TEMPLATE="]) expect(read(a, ".env.example")).toContain(v);
    expect(read(a, "lakitu/ksa/slug.ts")).toContain('from "lakitu/ksa"');
    // The client is told the app's KSAs (the example's name until lakitu build lists them), so stages may list them.
    expect(read(a, "convex/lakitu.ts")).toContain('import { LAKITU_APP_KSAS } from "./lakitu_ksas";');
    expect(read(a, "convex/lakitu.ts")).toContain("ksas: LAKITU_APP_KSAS");
    expect(read(a, "convex/lakitu_ksas.ts")).toContain('LAKITU_APP_KSAS: readonly string[] = ["slug"]');
    const manifest = JSON.parse(read(a, ".lakitu/init.json"));
    expect(Object.keys(manifest.files).sort()).toEqual([".lakitu/.gitignore", "convex/lakitu.ts", "convex/lakitu_sandbox.ts", "lakitu/ksa/slug.ts"]);
  });

  test("keeps the other components and the file's own formatting", async () => {
    const a = app(withComponents);
    const before = read(a, "convex/convex.config.ts");
    const r = await lakitu(a.root, ["init", "--yes"]);
    expect(r.code).toBe(0);
    const after = read(a, "convex/convex.config.ts");
    // Only additions: every line of the original is still there, in order.
    expect(isSubsequence(before.split("\n"), after.split("\n"))).toBe(true);
    expect(after).toContain("app.use(workflow) // durable jobs\napp.use(workflow, { name: 'otherWorkflow' })\napp.use(lakitu, {\n    httpPrefix: '/lakitu/',");
    expect(after).toContain("import lakitu from 'lakitu/convex.config.js'\n");
    // The app's env declaration grows; its own variable stays.
    expect(after).toContain("        SLACK_WEBHOOK: v.optional(v.string()),\n        OPENAI_API_KEY: v.optional(v.string()),");
    expect(after).not.toMatch(/;\n/);
  });

  test("leaves the app's crons alone and imports with .js like the app does", async () => {
    const a = app(withCrons);
    const before = read(a, "convex/crons.ts");
    const r = await lakitu(a.root, ["init", "--yes"]);
    expect(r.code).toBe(0);
    expect(read(a, "convex/crons.ts")).toBe(before);
    expect(read(a, "convex/lakitu.ts")).toContain('from "./_generated/api.js"');
    const env = read(a, ".env.example");
    expect(env.startsWith("# The app's settings\nSITE_NAME=\nOPENAI_API_KEY=\n\n# Lakitu")).toBe(true);
    expect(env.match(/OPENAI_API_KEY=/g)).toHaveLength(1);
  });

  test("uses the functions folder convex.json names, or --dir", async () => {
    const a = app(customDir);
    const r = await lakitu(a.root, ["init", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, functionsDir: "src/backend", changed: true });
    for (const f of ["convex.config.ts", "lakitu.ts", "lakitu_sandbox.ts"]) expect(existsSync(join(a.root, "src/backend", f))).toBe(true);
    expect(existsSync(join(a.root, "convex"))).toBe(false);

    const b = app({ "package.json": read(a, "package.json"), "server/fns.ts": "export {};\n" });
    expect((await lakitu(b.root, ["init", "--dir", "server"])).code).toBe(0);
    expect(existsSync(join(b.root, "server/lakitu.ts"))).toBe(true);
  });

  test.each([fresh, withComponents, withCrons, customDir])("a second run on $name changes nothing and says so", async (fixture) => {
    const a = app(fixture);
    expect((await lakitu(a.root, ["init", "--yes"])).code).toBe(0);
    const before = snapshot(a.root);
    const mtimes = Object.keys(before).map((p) => statSync(join(a.root, p)).mtimeMs);
    const again = await lakitu(a.root, ["init"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to do");
    expect(snapshot(a.root)).toEqual(before);
    expect(Object.keys(before).map((p) => statSync(join(a.root, p)).mtimeMs)).toEqual(mtimes);
  });

  test("--dry-run shows the changes and writes nothing", async () => {
    const a = app(withCrons);
    const before = snapshot(a.root);
    const r = await lakitu(a.root, ["init", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("+ E2B_API_KEY=");
    expect(r.stdout).toContain("+ create");
    // The count matches the files listed (the manifest is one of them).
    const listed = r.stdout.split("\n").filter((l) => /^ {2}[+~] (create|update)/.test(l)).length;
    expect(r.stdout).toContain(`Dry run: ${listed} file(s) would be written; nothing was.`);
    expect(r.stdout).toContain(".lakitu/init.json");
    expect(snapshot(a.root)).toEqual(before);
    expect(r.execs).toEqual([]);
  });

  test("installs what the written files import and the app lacks, with the app's package manager", async () => {
    expect(installCommands("bun", { dependencies: ["zod@^4"], devDependencies: ["x@1"] })).toEqual([
      { cmd: "bun", args: ["add", "zod@^4"] },
      { cmd: "bun", args: ["add", "-d", "x@1"] },
    ]);
    expect(installCommands("yarn", { dependencies: [], devDependencies: ["x@1"] })).toEqual([{ cmd: "yarn", args: ["add", "-D", "x@1"] }]);
    const bare = { ...fresh, files: { ...fresh.files, "package.json": JSON.stringify({ name: "bare", private: true, dependencies: { convex: "^1.48.0" } }) } };
    const a = app(bare);
    const r = await lakitu(a.root, ["init", "--yes"]);
    expect(r.code).toBe(0);
    const version = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
    expect(r.execs).toEqual([{ cmd: "npm", args: ["install", `lakitu@^${version}`, "zod@^4"], cwd: a.root }]);
    // The provider action uses no Node API of its own: no @types/node needed.
    expect(read(a, "convex/lakitu_sandbox.ts")).not.toContain("process");
    expect(r.stdout).toContain(`$ npm install lakitu@^${version} zod@^4`);
    expect(r.stdout).not.toMatch(/\d\. npm install/);

    // Without --yes (no terminal), nothing is run and the next steps say what to install.
    const b = app({ ...bare, files: { ...bare.files, "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" } });
    const plain = await lakitu(b.root, ["init"]);
    expect(plain.code).toBe(0);
    expect(plain.execs).toEqual([]);
    expect(plain.stdout).toContain(`1. pnpm add lakitu@^${version} zod@^4`);

    // A failed install is reported and left to the user; the files are written.
    const c = app(bare);
    const failed = await lakitu(c.root, ["init", "--yes"], { exec: async () => 1 });
    expect(failed.code).toBe(0);
    expect(failed.stderr).toContain(`npm install lakitu@^${version} zod@^4 exited with code 1; run it yourself`);
    expect(failed.stdout).toContain(`1. npm install lakitu@^${version} zod@^4`);
    expect(existsSync(join(c.root, "convex/lakitu.ts"))).toBe(true);

    // --skip-install prints instead of running.
    const d = app(bare);
    const skipped = await lakitu(d.root, ["init", "--yes", "--skip-install"]);
    expect(skipped.execs).toEqual([]);
    expect(skipped.stdout).toContain(`1. npm install lakitu@^${version} zod@^4`);
  });

  test("a file the user changed is kept when init has nothing new for it", async () => {
    const a = app(fresh);
    await lakitu(a.root, ["init"]);
    const mine = read(a, "convex/lakitu.ts").replace('throw new Error("Not signed in")', 'throw new Error("Sign in first")');
    writeFileSync(join(a.root, "convex/lakitu.ts"), mine);
    const r = await lakitu(a.root, ["init"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kept +convex\/lakitu\.ts.*changed by you/);
    expect(read(a, "convex/lakitu.ts")).toBe(mine);
  });

  test("a conflicting user edit is reported, not clobbered; --force overwrites it", async () => {
    const a = app(fresh);
    await lakitu(a.root, ["init"]);
    writeFileSync(join(a.root, "convex/lakitu.ts"), "// mine\n");
    // As if an older lakitu had written a different version: init now has something new for the file.
    const manifestPath = join(a.root, ".lakitu/init.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    manifest.files["convex/lakitu.ts"] = "0".repeat(64);
    manifest.files["convex/lakitu_sandbox.ts"] = "0".repeat(64); // unchanged by the user: would be updated
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const before = snapshot(a.root);

    const r = await lakitu(a.root, ["init", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot be changed safely; nothing was written");
    expect(r.stderr).toContain("convex/lakitu.ts: changed by you, and init has a newer version of it");
    expect(r.stderr).toContain("--force");
    expect(snapshot(a.root)).toEqual(before);

    const forced = await lakitu(a.root, ["init", "--yes", "--force"]);
    expect(forced.code).toBe(0);
    expect(read(a, "convex/lakitu.ts")).toContain("AUTH CHECK");
  });

  test("a file init did not write is a conflict", async () => {
    const a = app(fresh, { "convex/lakitu.ts": "export const mine = 1;\n" });
    const before = snapshot(a.root);
    const r = await lakitu(a.root, ["init", "--json"]);
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(r.json().error.details[0]).toBe("convex/lakitu.ts: exists and was not written by lakitu init");
    expect(snapshot(a.root)).toEqual(before);
  });

  test("never prompts without a terminal: changing existing files needs --yes", async () => {
    const a = app(withCrons);
    const before = snapshot(a.root);
    const r = await lakitu(a.root, ["init"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("init would change existing files (.env.example) and there is no terminal to ask");
    expect(r.stderr).toContain("--yes");
    expect(snapshot(a.root)).toEqual(before);
  });

  test("asks at a terminal; no means nothing is written", async () => {
    const a = app(withCrons);
    const before = snapshot(a.root);
    const questions: string[] = [];
    const no = await lakitu(a.root, ["init"], { isTTY: true, confirm: async (q) => (questions.push(q), false) });
    expect(no.code).toBe(1);
    expect(questions).toEqual(["Change .env.example?"]);
    expect(snapshot(a.root)).toEqual(before);
    const yes = await lakitu(a.root, ["init"], { isTTY: true, confirm: async () => true });
    expect(yes.code).toBe(0);
    expect(read(a, ".env.example")).toContain("E2B_API_KEY=");
  });

  test("a config it cannot extend is a conflict with the lines to add by hand", async () => {
    const a = app(fresh, { "convex/convex.config.ts": 'import { defineApp } from "convex/server";\nexport default defineApp();\n' });
    const r = await lakitu(a.root, ["init", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("convex/convex.config.ts: convex.config.ts has no `const app = defineApp(...)`");
    expect(r.stderr).toContain("app.use(lakitu, {");
    expect(existsSync(join(a.root, "convex/lakitu.ts"))).toBe(false);
  });
});
