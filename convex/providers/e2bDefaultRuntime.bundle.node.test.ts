/**
 * The real convex CLI's offline bundle check of a component whose default-runtime module uses the E2B
 * provider (and so the official `e2b` SDK): the strong half of the evidence that E2B cannot be the
 * component's own provider (see e2bDefaultRuntime.test.ts for the runtime half).
 *
 * Each case is a throwaway project in a temp dir (its node_modules is a symlink to ours) on which
 * `convex codegen --component-dir` runs against a fake self-hosted backend. The CLI bundles every module
 * for the default runtime before it reaches the backend; the fake backend answers its first request
 * (POST /api/get_config_hashes) with a 400, which the CLI does not retry, so a good bundle fails in
 * about 3 s at "Downloading current deployment state..." instead of after ~36 s of retries against a
 * closed port. CI=1 keeps the CLI from sending its crash report to Sentry.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const providerPath = fileURLToPath(new URL("./e2b.ts", import.meta.url));
const require = createRequire(import.meta.url);
const convexCli = path.join(path.dirname(require.resolve("convex/package.json")), "bin", "main.js");
const convexRequire = createRequire(require.resolve("convex/package.json"));
const esbuild = convexRequire("esbuild") as typeof import("esbuild");

let backend: http.Server;
let backendUrl: string;
const backendRequests: string[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  backend = http.createServer((req, res) => {
    backendRequests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "OfflineBundleCheck", message: "no deployment: this is an offline bundle check" }));
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  backendUrl = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A minimal app with one component whose only module is `moduleSource`; returns the project dir. */
function project(label: string, moduleSource: string, extraFiles: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lakitu-e2bbundle-${label}-`));
  dirs.push(dir);
  mkdirSync(path.join(dir, "app"));
  mkdirSync(path.join(dir, "component"));
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: `probe-${label}`, private: true, type: "module", dependencies: { convex: "*", e2b: "*" } }),
    "convex.json": JSON.stringify({ functions: "app" }),
    "tsconfig.json": JSON.stringify({
      compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", strict: true, skipLibCheck: true },
    }),
    "app/convex.config.ts": `import { defineApp } from "convex/server";\nimport probe from "../component/convex.config.js";\nconst app = defineApp();\napp.use(probe);\nexport default app;\n`,
    "component/convex.config.ts": `import { defineComponent } from "convex/server";\nexport default defineComponent("probe");\n`,
    "component/provider.ts": moduleSource,
    ...extraFiles,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** `convex codegen --component-dir ./component` against the fake backend: exit code, output, requests. */
async function bundleCheck(dir: string): Promise<{ code: number | null; output: string; requests: string[] }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("CONVEX_")) delete env[key];
  Object.assign(env, {
    CONVEX_SELF_HOSTED_URL: backendUrl,
    CONVEX_SELF_HOSTED_ADMIN_KEY: "offline-check",
    CI: "1",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  });
  const seen = backendRequests.length;
  const proc = spawn(process.execPath, [convexCli, "codegen", "--component-dir", "./component", "--typecheck", "disable"], {
    cwd: dir,
    env,
  });
  let output = "";
  proc.stdout.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => proc.kill("SIGKILL"), 90_000);
  const code = await new Promise<number | null>((resolve) => proc.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, requests: backendRequests.slice(seen) };
}

const NODE_BUILTINS_OF_E2B = ["node:fs", "node:stream", "node:crypto", "node:os", "node:path", "node:url"];

describe("the convex CLI's offline bundle check of a component using e2b 2.51 in the default runtime", () => {
  it("a trivial module bundles: the check fails only at the fake backend, fast", async () => {
    const dir = project(
      "control",
      `import { internalActionGeneric } from "convex/server";\nimport { v } from "convex/values";\nexport const provider = internalActionGeneric({ args: { x: v.string() }, handler: async (_ctx, { x }) => x });\n`,
    );
    const started = Date.now();
    const r = await bundleCheck(dir);
    expect(r.output).toContain("Bundling component schemas and implementations...");
    expect(r.output).toContain("Downloading current deployment state...");
    expect(r.output).toContain(`Error fetching POST  ${backendUrl}/api/get_config_hashes 400 Bad Request: OfflineBundleCheck`);
    expect(r.output).not.toContain("ERROR]");
    expect(r.output).not.toContain("Retrying request");
    expect(r.requests).toEqual(["POST /api/get_config_hashes"]);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000); // ~3 s; the retries against a closed port take ~36 s
  }, 100_000);

  it("the provider (and so `e2b`) in a component module: rejected for six Node built-ins, before any request", async () => {
    const dir = project(
      "provider",
      `import { internalActionGeneric } from "convex/server";\nimport { e2bProvider, providerArgs, vProviderResult } from ${JSON.stringify(providerPath.replace(/\.ts$/, ".js"))};\nexport const provider = internalActionGeneric({ args: providerArgs, returns: vProviderResult, handler: e2bProvider() });\n`,
    );
    const r = await bundleCheck(dir);
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]); // it never got as far as the backend
    expect(r.output).not.toContain("Downloading current deployment state");
    const unresolved = [...r.output.matchAll(/✘ \[ERROR\] Could not resolve "([^"]+)"/g)].map((m) => m[1]);
    expect(unresolved).toEqual(NODE_BUILTINS_OF_E2B);
    expect(r.output).toMatch(/node_modules\/e2b\/dist\/index\.mjs:8:15:\s+8 │ import fs from "node:fs";/);
    expect(r.output).toContain(
      `The package "node:fs" wasn't found on the file system but is built into node. Are you trying to bundle for node?`,
    );
    expect(r.output).toContain(`It looks like you are using Node APIs from a file without the "use node" directive.`);
  }, 100_000);

  it("the same provider pre-bundled with node:* stubbed out passes the bundler (the only obstacle is the bundle step)", async () => {
    // What a package could ship instead of importing e2b directly: the provider and e2b in one ESM file,
    // each node:* import replaced by a stub that throws on use (e2b uses them only to build templates).
    const prebundled = await esbuild.build({
      stdin: {
        contents: `export { e2bProvider, providerArgs, vProviderResult } from ${JSON.stringify(providerPath)};`,
        resolveDir: repoRoot,
        sourcefile: "entry.ts",
        loader: "ts",
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "esnext",
      conditions: ["convex", "module"],
      external: ["convex", "convex/*"],
      write: false,
      logLevel: "silent",
      plugins: [
        {
          name: "stub-node-builtins",
          setup(build) {
            build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: "node-stub" }));
            build.onLoad({ filter: /.*/, namespace: "node-stub" }, (args) => ({
              loader: "js",
              contents: `export default new Proxy({}, { get() { throw new Error(${JSON.stringify(`${args.path} is not available here`)}); } });`,
            }));
          },
        },
      ],
    });
    const dir = project(
      "prebundled",
      `import { internalActionGeneric } from "convex/server";\nimport { e2bProvider, providerArgs, vProviderResult } from "./e2bBundle.js";\nexport const provider = internalActionGeneric({ args: providerArgs, returns: vProviderResult, handler: e2bProvider() });\n`,
      { "component/e2bBundle.js": prebundled.outputFiles[0]!.text },
    );
    const r = await bundleCheck(dir);
    expect(r.output).not.toContain("ERROR]");
    expect(r.output).toContain("Downloading current deployment state...");
    expect(r.requests).toEqual(["POST /api/get_config_hashes"]);
  }, 100_000);
});
