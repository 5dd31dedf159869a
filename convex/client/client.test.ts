import { describe, expect, test } from "vitest";
import type { ConvexError } from "convex/values";
import { isLakituError, Lakitu, registerRoutes, type LakituErrorData } from "./index.js";
import type { ComponentApi } from "../component/_generated/component.js";
import { anyApi, getFunctionName, httpRouter } from "convex/server";

const component = anyApi as unknown as ComponentApi;

describe("Lakitu client", () => {
  test("runCard without a provider says how to configure one", async () => {
    const lakitu = new Lakitu(component);
    const ctx = { runQuery: async () => null, runMutation: async () => null } as never;
    const e = await lakitu.runCard(ctx, { cardId: "c" }).catch((err: unknown) => err);
    expect(isLakituError(e, "misconfigured")).toBe(true);
    expect((e as ConvexError<LakituErrorData>).data.message).toMatch(/pass \{ provider: internal\.<file>\.provider \}/);
  });

  test("runCard without CONVEX_SITE_URL or callbackUrl is a misconfigured error naming both", async () => {
    const lakitu = new Lakitu(component, { provider: anyApi.sandbox.provider });
    const ctx = { runQuery: async () => null, runMutation: async () => null } as never;
    const saved = process.env.CONVEX_SITE_URL;
    delete process.env.CONVEX_SITE_URL;
    try {
      const e = await lakitu.runCard(ctx, { cardId: "c" }).catch((err: unknown) => err);
      expect(isLakituError(e, "misconfigured")).toBe(true);
      expect((e as ConvexError<LakituErrorData>).data.message).toContain("CONVEX_SITE_URL");
      expect((e as ConvexError<LakituErrorData>).data.message).toContain("callbackUrl");
    } finally {
      if (saved !== undefined) process.env.CONVEX_SITE_URL = saved;
    }
  });

  test("the ksas option reaches every stage write as appKsas (and is left out when there are none)", async () => {
    const calls: unknown[] = [];
    const ctx = { runQuery: async () => null, runMutation: async (_ref: unknown, args: unknown) => (calls.push(args), null) } as never;
    const stage = { name: "S", kind: "agent" as const, allowedKsas: ["slug"] };
    const withKsas = new Lakitu(component, { ksas: ["slug"] });
    await withKsas.createBoard(ctx, { name: "B", stages: [stage] });
    await withKsas.addStage(ctx, { boardId: "b", stage });
    await withKsas.updateStage(ctx, { stageId: "s", patch: { allowedKsas: ["slug"] } });
    expect(calls).toEqual([
      { name: "B", stages: [stage], appKsas: ["slug"] },
      { boardId: "b", stage, appKsas: ["slug"] },
      { stageId: "s", patch: { allowedKsas: ["slug"] }, appKsas: ["slug"] },
    ]);
    calls.length = 0;
    await new Lakitu(component, { ksas: [] }).createBoard(ctx, { name: "B", stages: [stage] });
    await new Lakitu(component).addStage(ctx, { boardId: "b", stage });
    expect(calls).toEqual([{ name: "B", stages: [stage] }, { boardId: "b", stage }]);
  });

  test("lifecycle methods call the component's lifecycle functions with the app's arguments", async () => {
    const calls: Array<[string, unknown]> = [];
    const ctx = { runQuery: async () => null, runMutation: async (ref: never, args: unknown) => (calls.push([getFunctionName(ref), args]), null) } as never;
    const lakitu = new Lakitu(component, { ksas: ["slug"] });
    await lakitu.updateCard(ctx, { cardId: "c", description: null });
    await lakitu.archiveCard(ctx, { cardId: "c" });
    await lakitu.restoreCard(ctx, { cardId: "c" });
    await lakitu.deleteCard(ctx, { cardId: "c" });
    await lakitu.deleteBoard(ctx, { boardId: "b" });
    await lakitu.renameStage(ctx, { stageId: "s", name: "Write" });
    await lakitu.reorderStages(ctx, { boardId: "b", stageIds: ["s2", "s1"] });
    await lakitu.removeStage(ctx, { stageId: "s" });
    expect(calls).toEqual([
      ["lifecycle:updateCard", { cardId: "c", description: null }],
      ["lifecycle:archiveCard", { cardId: "c" }],
      ["lifecycle:restoreCard", { cardId: "c" }],
      ["lifecycle:deleteCard", { cardId: "c" }],
      ["lifecycle:deleteBoard", { boardId: "b" }],
      ["boards:updateStage", { stageId: "s", patch: { name: "Write" }, appKsas: ["slug"] }],
      ["lifecycle:reorderStages", { boardId: "b", stageIds: ["s2", "s1"] }],
      ["lifecycle:removeStage", { stageId: "s" }],
    ]);
  });

  test("list methods pass paginationOpts through and return the component's page as it is", async () => {
    const calls: Array<[string, unknown]> = [];
    const page = { page: [], isDone: true, continueCursor: "[]" };
    const ctx = { runQuery: async (ref: never, args: unknown) => (calls.push([getFunctionName(ref), args]), page), runMutation: async () => null } as never;
    const lakitu = new Lakitu(component);
    const paginationOpts = { numItems: 25, cursor: "c1", endCursor: "c9" };
    const results = [
      await lakitu.listBoards(ctx, { owner: "u", paginationOpts }),
      await lakitu.listCards(ctx, { boardId: "b", stageId: "s", paginationOpts }),
      await lakitu.listRuns(ctx, { cardId: "c", paginationOpts }),
      await lakitu.listActiveRuns(ctx, { paginationOpts }),
      await lakitu.listTransitions(ctx, { cardId: "c", paginationOpts }),
      await lakitu.listEvents(ctx, { runId: "r", afterSeq: 3, paginationOpts }),
      await lakitu.latestEvents(ctx, { runId: "r", paginationOpts }),
      await lakitu.listArtifacts(ctx, { runId: "r", paginationOpts }),
      await lakitu.listTurns(ctx, { runId: "r", paginationOpts }),
      await lakitu.transcript(ctx, { cardId: "c", paginationOpts }),
    ];
    expect(results.every((r) => r === page)).toBe(true);
    expect(calls).toEqual([
      ["boards:listBoards", { owner: "u", paginationOpts }],
      ["cards:listCards", { boardId: "b", stageId: "s", paginationOpts }],
      ["runs:listRuns", { cardId: "c", paginationOpts }],
      ["runs:listActive", { paginationOpts }],
      ["runs:listTransitions", { cardId: "c", paginationOpts }],
      ["events:listEvents", { runId: "r", afterSeq: 3, paginationOpts }],
      ["events:latestEvents", { runId: "r", paginationOpts }],
      ["artifacts:listArtifacts", { runId: "r", paginationOpts }],
      ["usage:listTurns", { runId: "r", paginationOpts }],
      ["transcripts:transcript", { cardId: "c", paginationOpts }],
    ]);
  });

  test("registerRoutes mounts every runtime route under the prefix", () => {
    const http = httpRouter();
    registerRoutes(http, component, { pathPrefix: "/agents" });
    const paths = http.getRoutes().map(([path, method]) => `${method} ${path}`).sort();
    expect(paths).toEqual(
      ["artifacts", "commit", "complete", "events", "heartbeat", "inbox", "ksa", "llm", "restore", "task", "upload-url"].map((p) => `POST /agents/${p}`).sort(),
    );
  });
});
