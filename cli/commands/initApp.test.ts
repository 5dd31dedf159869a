/**
 * After `lakitu init`, each fixture app typechecks against the package and works through the client:
 * its generated functions run a card in a (test) sandbox, stop it, and enforce the auth check.
 * (What `npx convex dev` would do — codegen — is done offline by testing/appHarness.ts.)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { convexTest } from "convex-test";
import { anyApi } from "convex/server";
import lakituTest from "lakitu/test";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { testProvider } from "../../convex/testkit/provider.js";
import { appModules, COMPILERS, typecheck, writeGenerated } from "../testing/appHarness.js";
import { FIXTURES, makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";

const api = anyApi;

describe.each(FIXTURES)("the $name app after lakitu init", (fixture) => {
  let app: App;
  beforeAll(async () => {
    app = makeApp(fixture);
    const r = await lakitu(app.root, ["init", "--yes"]);
    expect(r.stderr).toBe("");
    await writeGenerated(app);
  });
  afterAll(() => app.cleanup());
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubEnv("CONVEX_SITE_URL", "https://app.convex.site");
    testProvider.reset();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });

  // TypeScript 5.9 is slow on the package's sources: it checks the fresh app here (and every app in
  // npm run test:consumer, against the packed package).
  const compilers = (fixture.name === "fresh" ? Object.keys(COMPILERS) : ["7"]) as Array<keyof typeof COMPILERS>;
  test.each(compilers)("typechecks against the package on TypeScript %s (functions and lakitu/ KSAs)", (compiler) => {
    const r = typecheck(app, compiler);
    expect(r.output).toBe("");
    expect(r.ok).toBe(true);
  }, 120_000);

  test("runs and stops through the client", async () => {
    const modules = appModules(app);
    const schemaKey = Object.keys(modules).find((k) => k.endsWith("/schema.ts"));
    const schema = schemaKey ? ((await modules[schemaKey]()) as { default: any }).default : undefined;
    const t = convexTest(schema, modules);
    lakituTest.register(t, "lakitu");
    const alice = t.withIdentity({ subject: "alice" });

    const boardId: string = await alice.mutation(api.lakitu.createBoard, { name: "Otters" });
    const cardId: string = await alice.mutation(api.lakitu.addCard, { boardId, title: "Sea otters" });
    const { runId } = await alice.mutation(api.lakitu.run, { cardId });
    for (let i = 0; i < 200 && testProvider.alive().length === 0; i++) {
      vi.advanceTimersByTime(50);
      await t.finishInProgressScheduledFunctions();
    }
    const sandbox = testProvider.latest();
    expect(sandbox.envs.LAKITU_URL).toBe("https://app.convex.site/lakitu");
    const paginationOpts = { numItems: 20, cursor: null };
    const view = await alice.query(api.lakitu.board, { boardId });
    expect(view.stages.map((s: { name: string }) => s.name)).toEqual(["Research", "Done"]);
    const cards = await alice.query(api.lakitu.cards, { boardId, paginationOpts });
    expect(cards).toMatchObject({ page: [{ title: "Sea otters", status: "running" }], isDone: true });
    expect((await alice.query(api.lakitu.card, { cardId })).cardId).toBe(cardId);
    expect((await alice.query(api.lakitu.runs, { cardId, paginationOpts })).page.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    expect(await alice.query(api.lakitu.events, { runId, paginationOpts })).toMatchObject({ page: [], isDone: true });
    expect(await alice.query(api.lakitu.latestEvents, { runId, paginationOpts })).toMatchObject({ page: [], isDone: true });
    expect((await alice.query(api.lakitu.boards, { paginationOpts })).page.map((b: { boardId: string }) => b.boardId)).toEqual([boardId]);
    expect((await alice.query(api.lakitu.getRun, { runId })).runId).toBe(runId);
    expect(await alice.query(api.lakitu.artifacts, { runId, paginationOpts })).toMatchObject({ page: [], isDone: true });
    await expect(alice.query(api.lakitu.artifactUrl, { artifactId: runId })).rejects.toThrow("Artifact not found");

    // ⚠️ AUTH CHECK as scaffolded: signed-in owners only.
    await expect(t.query(api.lakitu.board, { boardId })).rejects.toThrow("Not signed in");
    await expect(t.withIdentity({ subject: "bob" }).mutation(api.lakitu.stop, { cardId })).rejects.toThrow("Board not found");
    await expect(t.withIdentity({ subject: "bob" }).query(api.lakitu.getRun, { runId })).rejects.toThrow("Board not found");

    expect(await alice.mutation(api.lakitu.stop, { cardId })).toBe(true);
    for (let i = 0; i < 200 && testProvider.alive().length > 0; i++) {
      vi.advanceTimersByTime(50);
      await t.finishInProgressScheduledFunctions();
    }
    expect(testProvider.alive()).toEqual([]);
  }, 60_000);
});

test("the typecheck is real: a wrong reference in the generated functions fails it", async () => {
  const app = makeApp(FIXTURES[0]);
  try {
    await lakitu(app.root, ["init"]);
    await writeGenerated(app);
    const file = `${app.functionsDir}/lakitu.ts`;
    writeFileSync(file, readFileSync(file, "utf8").replace("internal.lakitu_sandbox.provider", "internal.lakitu_sandbox.nope"));
    const r = typecheck(app);
    expect(r.ok).toBe(false);
    expect(r.output).toContain("lakitu.ts");

    // Without the annotation the self-referencing module is TS7022 on TypeScript 5.9 (7 lets it pass).
    writeFileSync(file, readFileSync(file, "utf8").replace("nope", "provider").replace("export const lakitu: Lakitu =", "export const lakitu ="));
    expect(typecheck(app, "7").ok).toBe(true);
    const ts5 = typecheck(app, "5.9");
    expect(ts5.ok).toBe(false);
    expect(ts5.output).toContain("TS7022");
  } finally {
    app.cleanup();
  }
}, 120_000);
