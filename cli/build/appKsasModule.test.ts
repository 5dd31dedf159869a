import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { EXAMPLE_KSA } from "../init/scaffold.js";
import { makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";
import { appKsasModule, writeAppKsasModule } from "./appKsasModule.js";

const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));
function app(files: Record<string, string>): App {
  const a = makeApp({ "package.json": '{ "name": "names-app", "type": "module" }\n', ...files });
  apps.push(a);
  return a;
}

describe("the app's KSA names module", () => {
  test("lakitu build writes the names of lakitu/ksa/'s KSAs into the functions folder", async () => {
    const a = app({ "convex/schema.ts": "export default {};\n", "lakitu/ksa/slug.ts": EXAMPLE_KSA });
    const r = await lakitu(a.root, ["build"]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain("convex/lakitu_ksas.ts lists the app's KSAs for the client");
    const text = readFileSync(join(a.root, "convex/lakitu_ksas.ts"), "utf8");
    expect(text).toBe(appKsasModule(["slug"]));
    expect(text).toContain('export const LAKITU_APP_KSAS: readonly string[] = ["slug"];');
  }, 60_000);

  test("follows convex.json's functions folder, rewrites only on change, and skips an app without one", () => {
    const a = app({ "convex.json": '{ "functions": "src/backend/" }\n', "src/backend/x.ts": "" });
    expect(writeAppKsasModule(a.root, ["a", "b"])).toEqual({ path: "src/backend/lakitu_ksas.ts", changed: true });
    const path = join(a.root, "src/backend/lakitu_ksas.ts");
    const mtime = statSync(path).mtimeMs;
    expect(writeAppKsasModule(a.root, ["a", "b"])).toEqual({ path: "src/backend/lakitu_ksas.ts", changed: false });
    expect(statSync(path).mtimeMs).toBe(mtime);
    expect(writeAppKsasModule(a.root, [])).toEqual({ path: "src/backend/lakitu_ksas.ts", changed: true });
    expect(readFileSync(path, "utf8")).toContain("= [];");

    const bare = app({});
    expect(writeAppKsasModule(bare.root, ["a"])).toBeUndefined();
    expect(existsSync(join(bare.root, "convex"))).toBe(false);
  });
});
