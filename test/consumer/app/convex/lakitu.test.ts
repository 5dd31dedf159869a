/// <reference types="vite/client" />
// The test the README's "Testing your app" section shows, run in a fresh app against the packed package.
import { convexTest } from "convex-test";
import lakituTest from "lakitu/test";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import schema from "./schema";

const modules = import.meta.glob("./**/*.ts");

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubEnv("CONVEX_SITE_URL", "https://my-app.convex.site");
  lakituTest.testProvider.reset();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

test("a card runs through the Research stage to Done", async () => {
  const t = convexTest(schema, lakituTest.withLakitu(modules, { provider: "lakitu_sandbox" }));
  lakituTest.register(t);
  const alice = t.withIdentity({ subject: "alice" });
  const advance = (ms: number) => vi.advanceTimersByTime(ms);

  const boardId = await alice.mutation(api.lakitu.createBoard, { name: "Otters" });
  const cardId = await alice.mutation(api.lakitu.addCard, { boardId, title: "Sea otters" });
  const { runId } = await alice.mutation(api.lakitu.run, { cardId });

  // The workflow asks the provider for a sandbox; then the test plays the agent inside it.
  await lakituTest.waitFor(t, () => lakituTest.testProvider.alive().length === 1, { advance });
  const agent = lakituTest.runtime(t);
  expect(agent.sandbox.envs.LAKITU_URL).toBe("https://my-app.convex.site/lakitu");
  await agent.events(["reading about otters"]);
  await agent.deliver({ "notes.md": "Sea otters hold hands while they sleep so that they do not drift apart, and they keep a favourite stone in a pouch of skin to crack shells." });

  // Lists are pages, as usePaginatedQuery asks for them.
  const paginationOpts = { numItems: 20, cursor: null };
  const status = async () => (await alice.query(api.lakitu.cards, { boardId, paginationOpts })).page[0]?.status;
  await lakituTest.waitFor(t, async () => (await status()) === "done", { advance });
  const events = await alice.query(api.lakitu.events, { runId, paginationOpts });
  expect(events.page.map((e) => e.text)).toEqual(["reading about otters"]);
  expect(events.isDone).toBe(true);
  // The run view's wrappers (for the board UI): the board's owner only.
  expect((await alice.query(api.lakitu.getRun, { runId }))?.status).toBe("succeeded");
  const artifacts = await alice.query(api.lakitu.artifacts, { runId, paginationOpts });
  expect(artifacts.page.map((a) => a.name)).toEqual(["notes.md"]);
  expect(await alice.query(api.lakitu.artifactUrl, { artifactId: artifacts.page[0]!.artifactId })).toMatch(/^https?:\/\//);
  await expect(t.withIdentity({ subject: "bob" }).query(api.lakitu.getRun, { runId })).rejects.toThrow("Board not found");
  // The sandbox's kill, scheduled as the card settled, runs right after.
  await lakituTest.waitFor(t, () => lakituTest.testProvider.alive().length === 0, { advance });

  // The app's own routes still answer next to Lakitu's.
  expect(await (await t.fetch("/health")).text()).toBe("ok");
  expect((await t.fetch("/lakitu/heartbeat", { method: "POST" })).status).toBe(401);
});
