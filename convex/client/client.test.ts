import { describe, expect, test } from "vitest";
import { Lakitu, registerRoutes } from "./index.js";
import type { ComponentApi } from "../component/_generated/component.js";
import { anyApi, httpRouter } from "convex/server";

const component = anyApi as unknown as ComponentApi;

describe("Lakitu client", () => {
  test("runCard without a provider says how to configure one", async () => {
    const lakitu = new Lakitu(component);
    const ctx = { runQuery: async () => null, runMutation: async () => null } as never;
    await expect(lakitu.runCard(ctx, { cardId: "c" })).rejects.toThrow(/pass \{ provider: internal\.<file>\.provider \}/);
  });

  test("registerRoutes mounts every runtime route under the prefix", () => {
    const http = httpRouter();
    registerRoutes(http, component, { pathPrefix: "/agents" });
    const paths = http.getRoutes().map(([path, method]) => `${method} ${path}`).sort();
    expect(paths).toEqual(
      ["artifacts", "complete", "events", "heartbeat", "inbox", "ksa", "llm", "task"].map((p) => `POST /agents/${p}`).sort(),
    );
  });
});
