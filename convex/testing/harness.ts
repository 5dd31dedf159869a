/// <reference types="vite/client" />
/**
 * Test harness: the component as the root module (so its http.ts is served by `t.fetch`), the nested
 * workflow registered, the test provider mounted beside it, and a simulated runtime that speaks the
 * real HTTP protocol with the token the provider was given.
 */
import { convexTest } from "convex-test";
import { createFunctionHandle, makeFunctionReference } from "convex/server";
import { onTestFinished, vi } from "vitest";
import workflowTest from "@convex-dev/workflow/test";
import agentTest from "@convex-dev/agent/test";
import schema from "../component/schema.js";
import { api } from "../component/_generated/api.js";
import { testProvider, type FakeSandbox } from "../testkit/provider.js";
import { TestRuntime } from "../testkit/runtime.js";
import { LimitsChecker } from "../testkit/limitsChecker.js";
import { limitsFromEnv, type LimitsOption } from "../testkit/limits.js";

const componentModules = import.meta.glob("../component/**/*.ts");

/** Module map keyed the way convex-test expects for a root module, plus the test provider. */
function modules() {
  const out: Record<string, () => Promise<any>> = {};
  for (const [k, load] of Object.entries(componentModules)) {
    if (!k.includes(".test.")) out[k.replace("../component/", "./")] = load;
  }
  out["./testProvider.ts"] = () => import("../testkit/provider.js");
  return out;
}

export const CALLBACK_URL = "http://lakitu.test";

/**
 * A fresh deployment for one test. Every function it runs is checked against Convex's production
 * limits (`limits`, default from `LAKITU_LIMITS`, else Cloud's figures; see testkit/limitsChecker.ts):
 * a violation fails the function, and the test when it ends, naming the function, limit and figure.
 */
export async function setup(opts: { limits?: LimitsOption } = {}) {
  testProvider.reset();
  const limits = new LimitsChecker({ limits: opts.limits ?? limitsFromEnv(globalThis.process?.env?.LAKITU_LIMITS) });
  const t = limits.attach(convexTest(schema, limits.modules(modules())));
  workflowTest.register(t, "workflow");
  agentTest.register(t, "agent");
  failTestOnViolations(limits);
  const providerHandle: string = await t.run(async () => await createFunctionHandle(makeFunctionReference<"action">("testProvider:provider")));
  return { t, providerHandle, provider: testProvider, limits };
}

/** Fails the running test if any function broke a limit, even one whose error was swallowed. */
function failTestOnViolations(limits: LimitsChecker): void {
  try {
    onTestFinished(() => limits.assertClean());
  } catch {
    // Not inside a test (e.g. called from beforeAll): the caller checks `limits.assertClean()` itself.
  }
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

/** The runtime's side over the component's own routes (the component is the root: no path prefix). */
export class SimRuntime extends TestRuntime {
  constructor(t: T, sandbox: FakeSandbox) {
    super(t, sandbox, { basePath: "" });
  }
}
