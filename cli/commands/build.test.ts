import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { runBuiltStep } from "../../runtime/testing/builtStep.js";
import { EXAMPLE_KSA } from "../init/scaffold.js";
import { makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";

const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));
function app(ksas: Record<string, string>): App {
  const a = makeApp({ "package.json": '{ "name": "ksa-app", "type": "module" }\n' }, Object.fromEntries(Object.entries(ksas).map(([f, c]) => [`lakitu/ksa/${f}`, c])));
  apps.push(a);
  return a;
}

const ksa = (name: string, fn = `params: z.object({ n: z.number() }), result: z.number(), local: async (_c, { n }) => n * 2`) => `import { defineKSA } from "lakitu/ksa";
import { z } from "zod";
export const k = defineKSA({ name: "${name}", description: "Doubles.", category: "project", defaultAllowed: false, functions: { twice: { description: "Doubles n.", ${fn} } } });
`;

describe("lakitu build", () => {
  test("bundles the runtime with the app's KSAs, which agent code can require", async () => {
    const a = app({ "slug.ts": EXAMPLE_KSA, "double.ts": ksa("double") });
    const r = await lakitu(a.root, ["build", "--json"]);
    expect(r.stderr).toContain("slug");
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.ksas.project).toEqual([
      { name: "double", file: "lakitu/ksa/double.ts" },
      { name: "slug", file: "lakitu/ksa/slug.ts" },
    ]);
    expect(out.version).toMatch(/^[0-9a-f]{12}$/);
    const dir = join(a.root, ".lakitu/build");
    expect(readFileSync(join(dir, "runtime/VERSION"), "utf8")).toBe(`${out.version}\n`);
    expect(JSON.parse(readFileSync(join(dir, "runtime/package.json"), "utf8")).type).toBe("module");
    expect(readFileSync(join(dir, "Dockerfile"), "utf8")).toContain("COPY runtime /opt/lakitu/runtime\n");
    expect(JSON.parse(readFileSync(join(dir, "template.json"), "utf8")).fromImage).toBe("node:22-bookworm-slim");
    expect(JSON.parse(readFileSync(join(dir, "ksa-registry.json"), "utf8")).map((e: { name: string }) => e.name)).toEqual(["double", "slug"]);

    const step = await runBuiltStep(join(dir, "runtime/worker.js"), ["slug", "double", "file"], [
      'const { slug, double } = require("lakitu/ksa");',
      'console.log(await slug.make({ text: "Héllo, Wörld!" }), await double.twice({ n: 21 }));',
    ].join("\n"));
    expect(step.warnings).toEqual([]);
    expect(step.error).toBeUndefined();
    expect(step.output).toBe("hello-world 42\n");
  }, 60_000);

  test("the same sources give the same version; without KSAs of its own the build still works", async () => {
    const a = app({});
    const first = (await lakitu(a.root, ["build", "--json"])).json();
    const second = (await lakitu(a.root, ["build", "--json"])).json();
    expect(first.ok).toBe(true);
    expect(second.version).toBe(first.version);
    expect(first.ksas.project).toEqual([]);
  }, 60_000);

  test("rejects invalid KSAs, each named with its file, and leaves the last build as it was", async () => {
    const a = app({ "good.ts": ksa("good") });
    expect((await lakitu(a.root, ["build"])).code).toBe(0);
    const before = readFileSync(join(a.root, ".lakitu/build/build.json"), "utf8");
    const files: Record<string, string> = {
      "weather.ts": ksa("file"),
      "again.ts": ksa("good"),
      "notobject.ts": ksa("notobject", `params: z.string(), result: z.string(), local: async () => "x"`),
      "raw.ts": `import { z } from "zod";\nexport const raw = { name: "raw", description: "d", category: "project", defaultAllowed: true, functions: { f: { description: "d", params: { n: 1 }, result: z.number(), local: async () => 1 } } };\n`,
      "gate.ts": ksa("gate", `params: z.object({}), result: z.null(), gateway: true`),
      "empty.ts": "export const notAKsa = 42;\n",
      "broken.ts": "export const = ;\n",
    };
    for (const [f, c] of Object.entries(files)) writeFileSync(join(a.root, "lakitu/ksa", f), c);
    const r = await lakitu(a.root, ["build"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("7 problems in the app's KSAs (lakitu/ksa/); nothing was built");
    expect(r.stderr).toContain('lakitu/ksa/weather.ts: KSA "file" is already a built-in; rename it');
    expect(r.stderr).toContain('lakitu/ksa/good.ts: KSA "good" is also defined in lakitu/ksa/again.ts; rename one of them');
    expect(r.stderr).toContain('lakitu/ksa/notobject.ts: fails when loaded: defineKSA("notobject"): function "twice": params must be a zod object schema');
    expect(r.stderr).toContain('lakitu/ksa/raw.ts: defineKSA("raw"): function "f": params must be a zod object schema');
    expect(r.stderr).toContain('lakitu/ksa/gate.ts: KSA "gate" function "twice" uses gateway: true');
    expect(r.stderr).toContain("lakitu/ksa/empty.ts: exports no KSA");
    expect(r.stderr).toMatch(/lakitu\/ksa\/broken\.ts: does not compile: .*broken\.ts:1:/);
    expect(readFileSync(join(a.root, ".lakitu/build/build.json"), "utf8")).toBe(before);
  }, 60_000);

  test("--dockerfile prints the template's Dockerfile and builds nothing", async () => {
    const a = app({});
    const r = await lakitu(a.root, ["build", "--dockerfile"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("FROM node:22-bookworm-slim\n")).toBe(true);
    expect(r.stdout).toContain("COPY runtime /opt/lakitu/runtime\n");
    expect(r.stdout).toContain("RUN mkdir -p /home/user/workspace && chmod 1777 /home/user/workspace\nWORKDIR /home/user/workspace\n");
    expect(r.stdout).toContain("LAKITU_AGENT_USER=lakitu-agent");
    expect(existsSync(join(a.root, ".lakitu"))).toBe(false);
    expect((await lakitu(a.root, ["build", "--dockerfile", "--json"])).json().dockerfile).toBe(r.stdout);
  });
});
