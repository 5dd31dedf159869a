import { describe, expect, test } from "vitest";
import type { ConvexError } from "convex/values";
import { isLakituError, Lakitu, registerRoutes, type LakituErrorData } from "./index.js";
import type { ComponentApi } from "../component/_generated/component.js";
import { anyApi, httpRouter } from "convex/server";

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

  test("registerRoutes mounts every runtime route under the prefix", () => {
    const http = httpRouter();
    registerRoutes(http, component, { pathPrefix: "/agents" });
    const paths = http.getRoutes().map(([path, method]) => `${method} ${path}`).sort();
    expect(paths).toEqual(
      ["artifacts", "complete", "events", "heartbeat", "inbox", "ksa", "llm", "restore", "task"].map((p) => `POST /agents/${p}`).sort(),
    );
  });
});
