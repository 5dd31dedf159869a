/**
 * Can the official `e2b` SDK run in Convex's default runtime (a V8 isolate without Node built-ins), so
 * that E2B could be the component's own provider with no `"use node"` file in the app? Settled here
 * with the calls `e2b.ts` makes (Sandbox.create with metadata/envs/timeout, files.write, commands.run
 * in the background, getInfo/connect/commands.list, setTimeout, list by metadata, kill), driven over
 * real loopback HTTP against the local sandbox host, which runs in a child Node process.
 *
 * The answer, pinned so that a future e2b version that changes it breaks this file:
 * 1. Convex's bundler rejects it: e2b's ESM build imports node:fs, node:stream, node:crypto, node:os,
 *    node:path and node:url at top level (for Template building), and Convex bundles the default
 *    runtime with esbuild's `platform: "browser"` and no Node shims (apart from async_hooks). The real
 *    convex CLI says the same: e2bDefaultRuntime.bundle.node.test.ts.
 * 2. vitest's edge-runtime environment cannot see that: it only swaps the globals of a Node process,
 *    so `import "node:fs"` and `import "e2b"` both still work here, and the provider works too.
 * 3. In a real edge VM (no `require`, no Node modules), a bundle of the provider with every node:*
 *    module replaced by a stub that throws on use does all of these calls with the VM's fetch and
 *    never touches a stub: for these calls the SDK needs Node only to get bundled. (An edge VM is not
 *    Convex's runtime either: its fetch and streaming are not checked here.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EdgeVM } from "@edge-runtime/vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProviderRequest, ProviderResult } from "../shared/validators.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const providerPath = fileURLToPath(new URL("./e2b.ts", import.meta.url));

/** The esbuild the convex CLI bundles with (its own pinned copy when npm nests one). */
type Esbuild = typeof import("esbuild");
type BuildOptions = import("esbuild").BuildOptions;
const convexRequire = createRequire(createRequire(import.meta.url).resolve("convex/package.json"));
const esbuild = convexRequire("esbuild") as Esbuild;

type HostInfo = { url: string; apiKey: string; isolation: "bwrap" | "none"; inspectUrl: string };
type Summary = {
  sandboxId: string;
  metadata: Record<string, string>;
  endAt: string;
  workspace: string;
  pids: number[];
  commands: Array<{ deadlineAt?: string }>;
};

let child: ChildProcess | undefined;
let host: HostInfo;

beforeAll(async () => {
  // The host needs Node (child processes, bwrap); it runs outside this test's environment.
  const proc = spawn(process.execPath, ["--import", "tsx", "sandbox/testing/hostProcess.ts", "--templates", "lakitu"], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child = proc;
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  host = await new Promise<HostInfo>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the sandbox host did not start within 30 s: ${stderr}`)), 30_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as HostInfo);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the sandbox host exited (${code}): ${stderr}`));
    });
  });
}, 40_000);

afterAll(async () => {
  const proc = child;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.stdin!.end(); // the host kills its sandboxes and exits when its stdin closes
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}, 20_000);

async function inspect(sandboxId: string): Promise<Summary | undefined> {
  const all = (await (await fetch(host.inspectUrl)).json()) as Summary[];
  return all.find((s) => s.sandboxId === sandboxId);
}

type Call = (request: ProviderRequest) => Promise<ProviderResult>;
type ProviderModule = {
  e2bProvider: (options: Record<string, unknown>) => (ctx: unknown, args: { request: ProviderRequest }) => Promise<ProviderResult>;
};

function caller(mod: ProviderModule, apiKey = host.apiKey): Call {
  // The command reads the token file and deletes it, as the runtime does; then it stays alive.
  const command = "sh -c 'cat $HOME/$LAKITU_TOKEN_FILE > t; rm $HOME/$LAKITU_TOKEN_FILE; sleep 60'";
  const handler = mod.e2bProvider({ apiKey, command, connection: { apiUrl: host.url, sandboxUrl: host.url } });
  // JSON round trip: results made in another realm (the edge VM) compare as plain data.
  return async (request) => JSON.parse(JSON.stringify(await handler(undefined, { request }))) as ProviderResult;
}

/** `probe()` once it returns a non-empty value without throwing (10 s at most). */
async function poll<T>(probe: () => T): Promise<T | undefined> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
    try {
      const value = probe();
      if (value) return value;
    } catch {
      // not yet
    }
  }
  return undefined;
}

/** Every call `e2b.ts` makes, with what the host saw; the same expectations for every runtime. */
async function driveProviderCalls(mod: ProviderModule, label: string): Promise<void> {
  const call = caller(mod);
  const dep = `dep-${label}-${Date.now()}`;
  const create = (sessionId: string): ProviderRequest => ({
    op: "create",
    sessionId,
    template: "lakitu",
    metadata: { "lakitu.session": sessionId, "lakitu.deployment": dep },
    envs: { LAKITU_TOKEN: `tok-${sessionId}`, LAKITU_SESSION: sessionId },
    timeoutMs: 120_000,
  });

  // Sandbox.create (metadata, timeout) + files.write (token) + commands.run (background, envs, cwd, no deadline)
  const created = await call(create(`${label}-a`));
  expect(created, JSON.stringify(created)).toMatchObject({ ok: true, op: "create", sandboxId: expect.any(String) });
  const sandboxId = (created as { sandboxId: string }).sandboxId;
  const summary = await inspect(sandboxId);
  expect(summary?.metadata).toEqual({ "lakitu.session": `${label}-a`, "lakitu.deployment": dep });
  expect(summary?.commands).toHaveLength(1);
  expect(summary?.commands[0]!.deadlineAt).toBeUndefined();
  // The runtime got the token through the file (files.write) named in its environment (envs, cwd).
  expect(await poll(() => readFileSync(path.join(summary!.workspace, "t"), "utf8").trim())).toBe(`tok-${label}-a`);

  // Sandbox.getInfo + Sandbox.connect + commands.list
  expect(await call({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "running" });

  // Sandbox.setTimeout
  const before = Date.parse(summary!.endAt);
  expect(await call({ op: "extend", sandboxId, timeoutMs: 600_000 })).toEqual({ ok: true, op: "extend" });
  expect(Date.parse((await inspect(sandboxId))!.endAt)).toBeGreaterThan(before + 400_000);

  // Sandbox.list by metadata (paged)
  const other = await call(create(`${label}-b`));
  expect(other).toMatchObject({ ok: true, op: "create" });
  const listed = await call({ op: "list", metadata: { "lakitu.deployment": dep, "lakitu.session": `${label}-a` } });
  expect(listed).toEqual({
    ok: true,
    op: "list",
    sandboxes: [{ sandboxId, metadata: { "lakitu.session": `${label}-a`, "lakitu.deployment": dep } }],
  });

  // The SDK's error classes: a 401 is an AuthenticationError (→ auth), a 404 a NotFoundError (→ gone).
  expect(await caller(mod, "e2b_wrong")({ op: "status", sandboxId })).toMatchObject({
    ok: false,
    error: { code: "auth", retryable: false },
  });

  // Sandbox.kill
  expect(await call({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: true });
  expect(await call({ op: "kill", sandboxId: (other as { sandboxId: string }).sandboxId })).toEqual({ ok: true, op: "kill", killed: true });
  expect(await call({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "gone" });
  expect(await call({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: false });
  expect(await inspect(sandboxId)).toBeUndefined();
}

/** Convex's esbuild options for the default runtime (convex/dist/cjs/bundler/debugBundle.js, innerEsbuild). */
const convexIsolateOptions: BuildOptions = {
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "esnext",
  conditions: ["convex", "module"],
  write: false,
  logLevel: "silent",
};

const probeEntry = {
  contents: `export { e2bProvider } from ${JSON.stringify(providerPath)};`,
  resolveDir: repoRoot,
  sourcefile: "probe.ts",
  loader: "ts",
} as const;

const NODE_BUILTINS_OF_E2B = ["node:crypto", "node:fs", "node:os", "node:path", "node:stream", "node:url"];

describe("e2b 2.51 in Convex's default runtime", () => {
  it("Convex's bundler settings reject it: e2b imports six Node built-ins at top level", async () => {
    const error = await esbuild.build({ ...convexIsolateOptions, stdin: probeEntry, outdir: "out" }).then(
      () => undefined,
      (e: unknown) => e as { errors: Array<{ text: string; location: { file: string } | null; notes: Array<{ text: string }> }> },
    );
    expect(error, "the provider now bundles for the default runtime: re-check the verdict in the README").toBeDefined();
    const errors = error!.errors;
    expect(errors.map((e) => e.text).sort()).toEqual(NODE_BUILTINS_OF_E2B.map((m) => `Could not resolve "${m}"`));
    for (const e of errors) {
      expect(e.location?.file).toMatch(/node_modules\/e2b\/dist\/index\.mjs$/);
      // The note that makes the convex CLI recommend "use node".
      expect(e.notes.some((n) => n.text.includes("Are you trying to bundle for node?"))).toBe(true);
    }
  });

  it("vitest's edge-runtime environment cannot tell: Node built-ins and e2b import fine here, and the provider works", async () => {
    // An approximation of Convex's runtime only: Node's module loader is still there.
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe("string");
    await expect(import("node:fs")).resolves.toHaveProperty("readFileSync");
    const e2b = await import("e2b");
    expect(typeof e2b.Sandbox.create).toBe("function");
    await driveProviderCalls((await import("./e2b.js")) as unknown as ProviderModule, "envtest");
  }, 60_000);

  it("in a real edge VM, the provider bundled with node:* stubbed out makes all its calls without touching Node", async () => {
    const used: string[] = [];
    const requests: Array<{ call: string; sdkRuntime: string | null }> = [];
    const result = await esbuild.build({
      ...convexIsolateOptions,
      format: "iife",
      globalName: "__lakituE2bProbe",
      stdin: probeEntry,
      outfile: "probe.js",
      plugins: [
        {
          name: "stub-node-builtins",
          setup(build) {
            build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: "node-stub" }));
            build.onLoad({ filter: /.*/, namespace: "node-stub" }, (args) => ({
              loader: "js",
              // Any use throws, and is recorded: a call that needs Node fails visibly.
              contents: `export default new Proxy({}, { get(_, key) {
                globalThis.__nodeUsed.push(${JSON.stringify(args.path)} + "." + String(key));
                throw new Error(${JSON.stringify(args.path)} + " is not available in Convex's default runtime");
              } });`,
            }));
          },
        },
      ],
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles![0]!.text;

    const vm = new EdgeVM({
      extend: (context) => {
        // As in Convex's runtime: a process.env and nothing else of Node's process.
        Object.assign(context, { process: { env: {} }, __nodeUsed: used });
        // Record every request the SDK makes through the VM's own fetch.
        const vmFetch = context.fetch;
        context.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
          const isRequest = typeof input === "object" && "url" in input && "headers" in input; // a Request (of any realm)
          const headers = isRequest ? (input as Request).headers : new context.Headers(init?.headers);
          const url = new context.URL(isRequest ? (input as Request).url : String(input));
          const method = (isRequest ? (input as Request).method : init?.method) ?? "GET";
          requests.push({
            call: `${method} ${url.pathname.replace(/\/sandboxes\/[^/]+/, "/sandboxes/:id")}`,
            sdkRuntime: headers.get("sdk_runtime"),
          });
          return vmFetch(input as never, init as never);
        }) as typeof context.fetch;
        return context;
      },
    });
    expect(vm.evaluate("typeof require + ' ' + typeof Buffer + ' ' + typeof process.versions")).toBe("undefined undefined undefined");
    // The VM's EdgeRuntime global cannot be deleted: shadow it, so that e2b sees no known runtime (as in
    // Convex) rather than Vercel's edge runtime. Both take e2b's non-Node path (the global fetch).
    const mod = vm.evaluate(`(() => { const EdgeRuntime = undefined; ${code}; return __lakituE2bProbe; })()`) as ProviderModule;
    await driveProviderCalls(mod, "edgevm");
    expect(used).toEqual([]);
    // All of it went through the VM's fetch: E2B's REST API (e2b detected no known runtime, as in
    // Convex) and envd's Connect RPCs and file upload.
    expect(new Set(requests.map((r) => r.call))).toEqual(
      new Set([
        "POST /v2/sandboxes", // Sandbox.create
        "POST /files", // files.write
        "POST /process.Process/Start", // commands.run
        "GET /sandboxes/:id", // Sandbox.getInfo
        "POST /v2/sandboxes/:id/connect", // Sandbox.connect
        "POST /process.Process/List", // commands.list
        "POST /sandboxes/:id/timeout", // Sandbox.setTimeout
        "GET /v2/sandboxes", // Sandbox.list
        "DELETE /sandboxes/:id", // Sandbox.kill
      ]),
    );
    expect(new Set(requests.filter((r) => r.sdkRuntime !== null).map((r) => r.sdkRuntime))).toEqual(new Set(["unknown"]));
  }, 60_000);
});
