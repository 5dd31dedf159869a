/** lakitu/test's module map: the provider swap, the mounted routes next to the app's own, and misuse. */
import { httpActionGeneric, httpRouter, type HttpRouter } from "convex/server";
import { describe, expect, test } from "vitest";
import { providerModule, withLakitu } from "../test.js";

const appHttp = () => {
  const http = httpRouter();
  http.route({ path: "/health", method: "GET", handler: httpActionGeneric(async () => new Response("ok")) });
  http.route({ pathPrefix: "/files/", method: "GET", handler: httpActionGeneric(async () => new Response("file")) });
  return { default: http };
};
const base = { "./convex/_generated/api.js": async () => ({}), "./convex/sandbox.ts": async () => ({ provider: "e2b" }) };

describe("withLakitu", () => {
  test("swaps the provider module and mounts the runtime routes beside the app's own", async () => {
    const modules = withLakitu({ ...base, "./convex/http.ts": async () => appHttp() }, { provider: "sandbox" });
    expect(modules["./convex/sandbox.ts"]).toBe(providerModule);
    const router = (await modules["./convex/http.ts"]()).default as HttpRouter;
    const routes = router.getRoutes().map(([path, method]) => `${method} ${path}`);
    expect(routes).toContain("GET /health");
    expect(routes).toContain("GET /files/*");
    for (const r of ["events", "heartbeat", "complete", "artifacts", "llm", "ksa", "task", "inbox", "restore"]) expect(routes).toContain(`POST /lakitu/${r}`);
  });

  test("an app without http.ts gets one with only the runtime routes, at the prefix it asks for", async () => {
    const modules = withLakitu(base, { httpPrefix: "/agents/" });
    const router = (await modules["./convex/http.ts"]()).default as HttpRouter;
    expect(router.getRoutes().every(([path]) => path.startsWith("/agents/"))).toBe(true);
    expect(router.getRoutes()).toHaveLength(11);
    expect(withLakitu(base, { httpPrefix: false })["./convex/http.ts"]).toBeUndefined();
  });

  test("misuse is explained", () => {
    expect(() => withLakitu(base, { provider: "lakitu_sandbox" })).toThrow('no module "lakitu_sandbox" among the app\'s modules (looked for ./convex/lakitu_sandbox.ts)');
    expect(() => withLakitu({ "./convex/a.ts": async () => ({}) })).toThrow('no "_generated" folder');
  });
});
