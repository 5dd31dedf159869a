/** `lakitu status`: the deployment's pinned template and live runs, read through the component's functions. */
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, test } from "vitest";
import { startFakeConvex } from "../testing/fakeConvex.js";
import { makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";

const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));
function app(): App {
  const a = makeApp({ "package.json": "{}\n" });
  apps.push(a);
  return a;
}

describe("lakitu status", () => {
  test("without a deployment: says so and exits 1", async () => {
    const a = app();
    const r = await lakitu(a.root, ["status"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("lakitu status: no Convex deployment is configured (CONVEX_DEPLOYMENT, or CONVEX_URL with CONVEX_ADMIN_KEY)");
    expect(r.stderr).toContain("npx convex dev");
    const urlOnly = await lakitu(a.root, ["status", "--json"], { env: { CONVEX_URL: "https://x.convex.cloud" } });
    expect(urlOnly.json().error).toMatchObject({ code: "no_deployment", message: "CONVEX_URL is set but no admin key (CONVEX_ADMIN_KEY) to call the component with" });
    const noKey = await lakitu(a.root, ["status", "--sandboxes"]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain("E2B_API_KEY is not set");
  });

  test("a deployment's pinned template and active runs, read through the component's functions", async () => {
    const a = app();
    const convex = await startFakeConvex("admin", {
      "config:getConfig": () => ({ template: "lakitu", templateVersion: "4c7820d2ec69" }),
      "boards:listBoards": () => ({ page: [{ boardId: "b1", name: "Content" }], isDone: true, continueCursor: "[]" }),
      // Two pages: status follows the cursor.
      "cards:listCards": ({ paginationOpts }) =>
        (paginationOpts as { cursor: string | null }).cursor === null
          ? { page: [{ cardId: "c1", boardId: "b1", title: "Sea otters", status: "running", currentRunId: "r1" }], isDone: false, continueCursor: "p2" }
          : { page: [{ cardId: "c2", boardId: "b1", title: "Kelp", status: "done" }, { cardId: "c3", boardId: "b1", title: "Tides", status: "idle" }], isDone: true, continueCursor: "[]" },
      "runs:getRun": ({ runId }) => ({ runId, status: "running", attempt: 2, session: { sandboxId: "sbx-9", state: "running", heartbeatAt: Date.now() - 3000 } }),
    });
    try {
      // The deployment comes from .env.local, as `npx convex dev` leaves it (here: URL + admin key).
      writeFileSync(`${a.root}/.env.local`, `CONVEX_URL=${convex.url}\nCONVEX_ADMIN_KEY="admin"\n`);
      const r = await lakitu(a.root, ["status"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Deployment ${convex.url} template: lakitu:4c7820d2ec69`);
      expect(r.stdout).toContain("Active runs (1) on 1 board(s)");
      expect(r.stdout).toMatch(/Content \/ Sea otters +running, attempt 2 +sandbox sbx-9 \(running, heartbeat [34]s ago\)/);
      expect(r.stdout).toContain("Sandboxes: not listed (E2B_API_KEY is not set).");
      expect(convex.calls.every((c) => c.componentPath === "lakitu" && c.authorization === "Convex admin")).toBe(true);
      const json = (await lakitu(a.root, ["status", "--json", "--owner", "u1"])).json();
      expect(json).toMatchObject({ ok: true, template: "lakitu", templateVersion: "4c7820d2ec69", activeRuns: [{ cardId: "c1", run: { runId: "r1" } }] });
      expect(convex.calls.find((c) => c.path === "boards:listBoards" && c.args.owner === "u1")).toBeDefined();
      // Both pages of cards were read: the second with the first page's cursor.
      expect(convex.calls.filter((c) => c.path === "cards:listCards").map((c) => (c.args.paginationOpts as { cursor: string | null }).cursor)).toEqual([null, "p2", null, "p2"]);
    } finally {
      await convex.close();
    }
  });

  test("uses runs:listActive when the component has it", async () => {
    const a = app();
    const convex = await startFakeConvex("admin", {
      "config:getConfig": () => ({}),
      "runs:listActive": () => ({ page: [{ runId: "r7", cardId: "c7", boardId: "b7", status: "provisioning", attempt: 1 }], isDone: true, continueCursor: "[]" }),
      "runs:getRun": ({ runId }) => ({ runId, cardId: "c7", boardId: "b7", status: "provisioning", attempt: 1 }),
    });
    try {
      const r = await lakitu(a.root, ["status"], { env: { CONVEX_URL: convex.url, CONVEX_ADMIN_KEY: "admin" } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("template: not pinned");
      expect(r.stdout).toMatch(/Active runs \(1\)\n {2}board b7 \/ card c7 +provisioning, attempt 1 +no sandbox yet/);
      expect(convex.calls.map((c) => c.path)).toEqual(["config:getConfig", "runs:listActive", "runs:getRun"]);
    } finally {
      await convex.close();
    }
  });
});
