/** Bad input to every command: a clear message, a non-zero exit, and nothing written. */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { fresh, makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";

const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));
function app(files: Record<string, string>): App {
  const a = makeApp(files);
  apps.push(a);
  return a;
}
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
const convexPkg = '{ "name": "a", "dependencies": { "convex": "^1.48.0" } }\n';

describe("usage errors exit 2", () => {
  test.each([
    [["frobnicate"], 'lakitu: unknown command "frobnicate"'],
    [["init", "--frce"], "lakitu init: unknown option --frce (did you mean --force?)"],
    [["build", "--out", "x"], "lakitu build: unknown option --out"],
    [["publish", "--cpu", "many"], 'lakitu publish: --cpu must be a whole number, got "many"'],
    [["status", "extra"], 'lakitu status: unexpected argument "extra"'],
    [["sandbox"], ""],
    [["sandbox", "start"], 'lakitu sandbox: unknown subcommand "start"'],
    [["sandbox", "serve", "--isolation", "docker"], 'lakitu sandbox serve: --isolation must be one of auto, bwrap, none, got "docker"'],
    [["sandbox", "serve", "--component-url", "ftp://x"], "lakitu sandbox serve: --component-url must use http or https, got ftp"],
    [["demo", "--fast"], "lakitu demo: unknown option --fast"],
  ])("%j", async (argv, message) => {
    const a = app({ "package.json": convexPkg });
    const before = snapshot(a.root);
    const r = await lakitu(a.root, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(snapshot(a.root)).toEqual(before);
  });

  test("--json reports a usage error as JSON", async () => {
    const r = await lakitu(process.cwd(), ["init", "--json", "--nope"]);
    expect(r.code).toBe(2);
    expect(r.json()).toEqual({ ok: false, error: { code: "usage", message: "lakitu init: unknown option --nope" } });
  });
});

describe("init refuses what is not a Convex app it can read, and writes nothing", () => {
  test.each([
    ["no package.json", { "convex/x.ts": "" }, "no package.json in"],
    ["not a Convex app", { "package.json": '{ "name": "web", "dependencies": { "react": "19" } }', "convex/x.ts": "" }, 'this is not a Convex app: package.json does not depend on "convex"'],
    ["unreadable package.json", { "package.json": "{ name: web }" }, "package.json: not valid JSON"],
    ["no functions folder", { "package.json": convexPkg }, "the Convex functions folder convex/ does not exist"],
    ["convex.json names a missing folder", { "package.json": convexPkg, "convex.json": '{ "functions": "backend" }' }, "the Convex functions folder backend/ does not exist"],
    ["unreadable convex.json", { "package.json": convexPkg, "convex.json": "{ functions: 'x' ", "convex/x.ts": "" }, "convex.json: not valid JSON"],
    ["convex.json functions not a path", { "package.json": convexPkg, "convex.json": '{ "functions": 3 }' }, 'convex.json: "functions" must be a folder path, got 3'],
    ["a config that does not parse", { ...fresh.files, "convex/convex.config.ts": "const app = defineApp(\n" }, "convex/convex.config.ts: cannot parse it ("],
  ])("%s", async (_name, files, message) => {
    const a = app(files);
    const before = snapshot(a.root);
    const r = await lakitu(a.root, ["init", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("→ ");
    expect(snapshot(a.root)).toEqual(before);
  });

  test("a config that cannot be read (a folder where the file should be)", async () => {
    const a = app(fresh.files);
    mkdirSync(join(a.root, "convex/convex.config.ts"));
    const r = await lakitu(a.root, ["init", "--yes", "--json"]);
    expect(r.code).toBe(1);
    expect(r.json().error.message).toBe("convex/convex.config.ts: cannot read it (EISDIR)");
  });

  test("build and publish outside an app", async () => {
    const a = app({ "README.md": "" });
    expect((await lakitu(a.root, ["build"])).stderr).toContain("no package.json in");
    expect((await lakitu(a.root, ["publish"], { env: { E2B_API_KEY: "k" } })).code).toBe(1);
  });
});

describe("help", () => {
  test.each([["init"], ["build"], ["publish"], ["status"], ["sandbox", "serve"], ["demo"]])("lakitu %s --help", async (...cmd) => {
    const r = await lakitu(process.cwd(), [...cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`lakitu ${cmd.join(" ")}`);
    expect(r.stdout).toContain("Exit codes: 0 success, 1 the command ran and failed, 2 usage error.");
  });

  test("lakitu with no command lists the commands", async () => {
    const r = await lakitu(process.cwd(), []);
    expect(r.code).toBe(0);
    for (const c of ["demo", "init", "build", "publish", "status", "sandbox serve"]) expect(r.stdout).toContain(`  ${c} `);
  });
});
