/// <reference types="vite/client" />
/**
 * Test harness: the component as the root module (so its http.ts is served by `t.fetch`), the nested
 * workflow registered, the test provider mounted beside it, and a simulated runtime that speaks the
 * real HTTP protocol with the token the provider was given.
 */
import { convexTest } from "convex-test";
import { createFunctionHandle, makeFunctionReference } from "convex/server";
import { vi } from "vitest";
import workflowTest from "@convex-dev/workflow/test";
import agentTest from "@convex-dev/agent/test";
import schema from "../component/schema.js";
import { api } from "../component/_generated/api.js";
import { testProvider, type FakeSandbox } from "./provider.js";

const componentModules = import.meta.glob("../component/**/*.ts");

/** Module map keyed the way convex-test expects for a root module, plus the test provider. */
function modules() {
  const out: Record<string, () => Promise<any>> = {};
  for (const [k, load] of Object.entries(componentModules)) {
    if (!k.includes(".test.")) out[k.replace("../component/", "./")] = load;
  }
  out["./testProvider.ts"] = () => import("./provider.js");
  return out;
}

export const CALLBACK_URL = "http://lakitu.test";

export async function setup() {
  testProvider.reset();
  const t = convexTest(schema, modules());
  workflowTest.register(t, "workflow");
  agentTest.register(t, "agent");
  const providerHandle: string = await t.run(async () => await createFunctionHandle(makeFunctionReference<"action">("testProvider:provider")));
  return { t, providerHandle, provider: testProvider };
}
export type T = Awaited<ReturnType<typeof setup>>["t"];

/** Advances fake time by `ms` in `stepMs` slices, running whatever becomes due. */
export async function advance(t: T, ms: number, stepMs = 50): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
    vi.advanceTimersByTime(Math.min(stepMs, ms - elapsed));
    await t.finishInProgressScheduledFunctions();
  }
  await t.finishInProgressScheduledFunctions();
}

/** Advances time until `cond` holds (checked between slices); throws after `maxMs` of fake time. */
export async function until(t: T, cond: () => Promise<boolean>, maxMs = 30_000, stepMs = 50): Promise<void> {
  for (let elapsed = 0; elapsed <= maxMs; elapsed += stepMs) {
    if (await cond()) return;
    await advance(t, stepMs, stepMs);
  }
  throw new Error(`condition not reached within ${maxMs} ms of fake time`);
}

export async function runStatus(t: T, runId: string): Promise<string | undefined> {
  return (await t.query(api.runs.getRun, { runId }))?.status;
}

/** Two agent stages (Research -> Draft, each must produce report.md) then Done, and one card. */
export async function makeBoard(t: T, opts: { maxAttempts?: number; requiresApproval?: boolean; autoAdvance?: boolean } = {}) {
  const agent = (name: string) => ({
    name,
    kind: "agent" as const,
    goals: [`${name} the topic`],
    deliverables: [{ name: "report.md", type: "markdown" as const, checks: { minWords: 3 } }],
    limits: { maxAttempts: opts.maxAttempts ?? 2, maxDurationMs: 3_600_000 },
    requiresApproval: opts.requiresApproval,
    autoAdvance: opts.autoAdvance,
  });
  const { boardId, stageIds } = await t.mutation(api.boards.createBoard, {
    name: "Pipeline",
    stages: [agent("Research"), agent("Draft"), { name: "Done", kind: "done" }],
  });
  const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Write about otters" });
  return { boardId, stageIds, cardId };
}

/** The runtime inside a sandbox, as the component sees it: real HTTP requests with the session's token. */
export class SimRuntime {
  seq = 0;
  constructor(
    readonly t: T,
    readonly sandbox: FakeSandbox,
  ) {}
  get token() {
    return this.sandbox.envs.LAKITU_TOKEN;
  }
  headers(extra: Record<string, string> = {}) {
    return {
      authorization: `Bearer ${this.token}`,
      "x-lakitu-generation": this.sandbox.envs.LAKITU_GENERATION,
      "content-type": "application/json",
      ...extra,
    };
  }
  async post(path: string, body: unknown, headers?: Record<string, string>) {
    const res = await this.t.fetch(`/${path}`, { method: "POST", headers: headers ?? this.headers(), body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  }
  async events(texts: string[]) {
    const events = texts.map((text) => ({ seq: this.seq++, kind: "log", text }));
    return await this.post("events", { events });
  }
  async heartbeat() {
    return await this.post("heartbeat", {});
  }
  async upload(name: string, content: string | Uint8Array, type?: string) {
    const q = new URLSearchParams({ name, ...(type ? { type } : {}) });
    const body = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const res = await this.t.fetch(`/artifacts?${q}`, {
      method: "POST",
      headers: { ...this.headers(), "content-type": "application/octet-stream" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  async complete(status: "succeeded" | "failed" | "canceled" = "succeeded", manifest: string[] = []) {
    return await this.post("complete", { status, summary: "done", manifest: manifest.map((name) => ({ name })) });
  }
}
