/**
 * `lakitu publish` over real HTTP: the e2b SDK builds the template against a loopback server that
 * implements its template-build calls; the result is recorded and pinned, and a run started with
 * that configuration creates its sandbox from the published template.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import { CALLBACK_URL, setup, until } from "../../convex/testing/harness.js";
import { EXAMPLE_KSA } from "../init/scaffold.js";
import { startFakeConvex, type FakeConvex } from "../testing/fakeConvex.js";
import { startFakeTemplateApi, type FakeTemplateApi } from "../testing/fakeE2bTemplates.js";
import { makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";

const KEY = "e2b_test_key";
let e2b: FakeTemplateApi;
let convex: FakeConvex;
const configured: Array<Record<string, unknown>> = [];
beforeAll(async () => {
  e2b = await startFakeTemplateApi(KEY);
  convex = await startFakeConvex("admin-key", { "config:configure": (args) => (configured.push(args), args) });
});
afterAll(async () => {
  await e2b.close();
  await convex.close();
});
const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));
function app(): App {
  const a = makeApp({ "package.json": '{ "name": "pub-app", "type": "module" }\n' }, { "lakitu/ksa/slug.ts": EXAMPLE_KSA });
  apps.push(a);
  return a;
}

describe("lakitu publish", () => {
  test("without E2B_API_KEY: a clear error naming the variable, nothing written", async () => {
    const a = app();
    const r = await lakitu(a.root, ["publish"], { env: { E2B_API_URL: e2b.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("lakitu publish: E2B_API_KEY is not set");
    expect(r.stderr).toContain("export E2B_API_KEY=");
    expect(existsSync(join(a.root, ".lakitu"))).toBe(false);
    const j = await lakitu(a.root, ["publish", "--json"], { env: {} });
    expect(j.json()).toMatchObject({ ok: false, error: { code: "missing_key", message: "E2B_API_KEY is not set" } });
  });

  test("builds on E2B with the SDK, streams the logs, records the template and prints the configure command", async () => {
    const a = app();
    const before = e2b.requests.length;
    const r = await lakitu(a.root, ["publish", "--name", "my-tpl", "--cpu", "4", "--memory", "4096"], { env: { E2B_API_KEY: KEY, E2B_API_URL: e2b.url } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const record = JSON.parse(readFileSync(join(a.root, ".lakitu/template.json"), "utf8"));
    const version = JSON.parse(readFileSync(join(a.root, ".lakitu/build/build.json"), "utf8")).version;
    expect(record).toMatchObject({ name: "my-tpl", templateId: expect.stringMatching(/^tpl_/), buildId: expect.stringMatching(/^bld_/), version, ref: `my-tpl:${version}`, cpuCount: 4, memoryMB: 4096 });

    const calls = e2b.requests.slice(before);
    expect(calls[0]).toEqual({ method: "POST", path: "/v3/templates", body: { name: "my-tpl", tags: [version], cpuCount: 4, memoryMB: 4096 } });
    const trigger = calls.find((c) => c.method === "POST" && c.path.startsWith("/v2/templates/"))!;
    const steps = (trigger.body as { fromImage: string; steps: Array<{ type: string; args: string[]; filesHash?: string }> });
    expect(steps.fromImage).toBe("node:22-bookworm-slim");
    const copy = steps.steps.find((s) => s.type === "COPY")!;
    expect(copy.args.slice(0, 2)).toEqual(["runtime", "/opt/lakitu/runtime"]);
    // The runtime bundle itself went up: the uploaded archive holds runtime/main.js and its VERSION.
    const tar = e2b.uploads.get(copy.filesHash!)!.toString("latin1");
    expect(tar).toContain("runtime/main.js");
    expect(tar).toContain("runtime/worker.js");
    expect(tar).toContain(version);
    expect(calls.filter((c) => c.path.includes("/status")).length).toBeGreaterThanOrEqual(2);

    expect(r.stdout).toContain("Step 4/6: COPY runtime /opt/lakitu/runtime");
    expect(r.stdout).toMatch(/\d+\.\ds Build finished/);
    expect(r.stdout).toContain(`built my-tpl:${version}`);
    expect(r.stdout).toContain("not pinned: no Convex deployment is configured");
    expect(r.stdout).toContain(`npx convex run --component lakitu config:configure '{"template":"my-tpl","templateVersion":"${version}","appKsas":["slug"]}'`);
  }, 60_000);

  test("pins the deployment's component config, and the next run creates its sandbox from that template", async () => {
    const a = app();
    configured.length = 0;
    const env = { E2B_API_KEY: KEY, E2B_API_URL: e2b.url, CONVEX_URL: convex.url, CONVEX_ADMIN_KEY: "admin-key", LAKITU_E2B_TEMPLATE: "app-sandbox" };
    const r = await lakitu(a.root, ["publish", "--json"], { env });
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.pinned).toBe(convex.url);
    expect(out.template).toMatchObject({ name: "app-sandbox", ref: `app-sandbox:${out.template.version}` });
    expect(convex.calls.at(-1)).toMatchObject({ componentPath: "lakitu", path: "config:configure", authorization: "Convex admin-key" });
    // The app's KSA names are pinned with the template, so stages may list them.
    expect(configured).toEqual([{ template: "app-sandbox", templateVersion: out.template.version, appKsas: ["slug"] }]);
    expect(out.configure).toEqual(configured[0]);

    // The component, configured with exactly that payload, provisions the next run from the template.
    vi.useFakeTimers();
    try {
      const { t, providerHandle, provider } = await setup();
      const unpinned = t.mutation(api.boards.createBoard, { name: "B", stages: [{ name: "S", kind: "agent", allowedKsas: ["file", "slug"] }] });
      await expect(unpinned).rejects.toMatchObject({ data: { code: "invalid_argument", message: expect.stringContaining('stages[0].allowedKsas[1] "slug" is not a known KSA') } });
      await t.mutation(api.config.configure, configured[0] as { template: string; templateVersion: string; appKsas: string[] });
      const { boardId } = await t.mutation(api.boards.createBoard, { name: "B", stages: [{ name: "S", kind: "agent", allowedKsas: ["file", "slug"] }, { name: "Done", kind: "done" }] });
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: "c" });
      await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
      await until(t, async () => provider.calls.some((c) => c.op === "create"));
      const create = provider.calls.find((c) => c.op === "create") as { template?: string };
      // Today the component passes `template`; with template pinning it becomes "<name>:<version>".
      expect(create.template?.split(":")[0]).toBe("app-sandbox");
      expect(await t.query(api.config.getConfig, {})).toMatchObject({ template: "app-sandbox", templateVersion: out.template.version });
    } finally {
      vi.useRealTimers();
    }
  }, 60_000);

  test("a build that fails on E2B is an error with the reason; a bad key is named as such", async () => {
    const a = app();
    e2b.failWith = "apt-get: package ripgrep not found";
    try {
      const r = await lakitu(a.root, ["publish"], { env: { E2B_API_KEY: KEY, E2B_API_URL: e2b.url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the template build failed on E2B: apt-get: package ripgrep not found");
      expect(existsSync(join(a.root, ".lakitu/template.json"))).toBe(false);
    } finally {
      e2b.failWith = undefined;
    }
    const bad = await lakitu(a.root, ["publish"], { env: { E2B_API_KEY: "e2b_wrong", E2B_API_URL: e2b.url } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("E2B rejected the API key");
  }, 60_000);

  test("bad options are usage errors", async () => {
    const a = app();
    const env = { E2B_API_KEY: KEY, E2B_API_URL: e2b.url };
    expect((await lakitu(a.root, ["publish", "--memory", "1023"], { env })).stderr).toContain("--memory must be an even number of MB");
    expect((await lakitu(a.root, ["publish", "--name", "Bad Name"], { env })).code).toBe(2);
    expect((await lakitu(a.root, ["publish", "--cpu", "0"], { env })).stderr).toContain("--cpu must be at least 1");
  });
});
