/// <reference types="vite/client" />
import { convexTest } from "convex-test";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import lakituTest from "lakitu/test";
import schema from "./schema";
import { api, internal } from "./_generated/api";
import { testProvider } from "../../convex/testing/provider";

// The app's own modules, except that its E2B provider is swapped for the in-memory test provider
// (same export name, `provider`), so internal.sandbox.provider resolves to it.
const appModules = import.meta.glob("./**/*.ts");
const modules = { ...appModules, "./sandbox.ts": () => import("../../convex/testing/provider") };

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubEnv("CONVEX_SITE_URL", "https://example.convex.site");
  testProvider.reset();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

function setup() {
  const t = convexTest(schema, modules);
  lakituTest.register(t, "lakitu");
  return t;
}
type T = ReturnType<typeof setup>;

async function advanceUntil(t: T, cond: () => Promise<boolean>, maxMs = 30_000) {
  for (let ms = 0; ms <= maxMs; ms += 50) {
    if (await cond()) return;
    vi.advanceTimersByTime(50);
    await t.finishInProgressScheduledFunctions();
  }
  throw new Error("condition not reached");
}

/** The runtime's side, over the app's HTTP router (routes mounted by registerRoutes). */
async function agentDelivers(t: T, files: Record<string, string>) {
  const sbx = testProvider.latest();
  const headers = { authorization: `Bearer ${sbx.envs.LAKITU_TOKEN}`, "x-lakitu-generation": sbx.envs.LAKITU_GENERATION };
  expect(sbx.envs.LAKITU_URL).toBe("https://example.convex.site/lakitu");
  const ev = await t.fetch("/lakitu/events", {
    method: "POST",
    headers,
    body: JSON.stringify({ events: [{ seq: 0, kind: "log", text: "working" }] }),
  });
  expect(ev.status).toBe(200);
  for (const [name, content] of Object.entries(files)) {
    const r = await t.fetch(`/lakitu/artifacts?name=${encodeURIComponent(name)}`, { method: "POST", headers, body: content });
    expect(r.status).toBe(200);
  }
  const done = await t.fetch("/lakitu/complete", {
    method: "POST",
    headers,
    body: JSON.stringify({ status: "succeeded", manifest: Object.keys(files).map((name) => ({ name })) }),
  });
  expect(await done.json()).toMatchObject({ ok: true, accepted: true });
}

describe("example app", () => {
  test("the run button takes a card through Research and Draft to Done", async () => {
    const t = setup();
    const boardId = await t.mutation(api.lakitu.createDemoBoard, {});
    const cardId = await t.mutation(api.lakitu.addCard, { boardId, title: "Sea otters" });
    const { runId } = await t.mutation(api.lakitu.run, { cardId });
    const status = async () => (await t.query(api.lakitu.board, { boardId }))!.cards[0].status;

    await advanceUntil(t, async () => testProvider.alive().length === 1);
    await agentDelivers(t, { "notes.md": "Sea otters hold hands while they sleep." });
    // Research auto-advances into Draft, which starts a second sandbox.
    await advanceUntil(t, async () => testProvider.calls.filter((c) => c.op === "create").length === 2 && testProvider.alive().length === 1);
    await agentDelivers(t, {
      "article.md": "# Sea otters\n\nThey hold hands while they sleep, and use stones as tools.",
      "sources.json": JSON.stringify(["https://example.org/otters"]),
    });
    await advanceUntil(t, async () => (await status()) === "done");

    const view = (await t.query(api.lakitu.board, { boardId }))!;
    expect(view.cards[0].stageId).toBe(view.stages[2].stageId);
    expect(testProvider.alive()).toEqual([]);
    const events = await t.query(api.lakitu.events, { runId });
    expect(events.events.map((e) => e.text)).toEqual(["working"]);
    expect(events.runEnded).toBe(true);
  });

  test("the cron's reaper runs through the client", async () => {
    const t = setup();
    const result = await t.mutation(internal.lakitu.reap, {});
    expect(result).toMatchObject({ examined: 0 });
  });

  test("stop cancels the run and kills the sandbox", async () => {
    const t = setup();
    const boardId = await t.mutation(api.lakitu.createDemoBoard, {});
    const cardId = await t.mutation(api.lakitu.addCard, { boardId, title: "Kelp" });
    await t.mutation(api.lakitu.run, { cardId });
    await advanceUntil(t, async () => testProvider.alive().length === 1);
    expect(await t.mutation(api.lakitu.stop, { cardId })).toBe(true);
    await advanceUntil(t, async () => testProvider.alive().length === 0);
    const view = (await t.query(api.lakitu.board, { boardId }))!;
    expect(view.cards[0].status).toBe("idle");
  });
});
