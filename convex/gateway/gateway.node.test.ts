/**
 * The model gateway and server-side KSAs, with real HTTP on both sides: the runtime's calls go through
 * the component's routes (t.fetch), and the model calls go to a loopback OpenAI-compatible server through
 * the real @ai-sdk/openai-compatible provider.
 */
import * as vitest from "vitest";
import { describe, expect, test } from "vitest";
import { api } from "../component/_generated/api.js";
import { makeBoard, setup, until } from "../testing/harness.js";
import { getRun, startRunning } from "../testing/runHelpers.js";
import { useModelServer, type ScriptedReply, type SeenRequest } from "../testing/modelServer.js";
import { listAll } from "../testing/listAll.js";

const server = useModelServer(vitest, "sk-loopback-test-key-0123456789");
let seen: SeenRequest[] = [];
let replies: ScriptedReply[] = [];
vitest.beforeEach(() => {
  seen = server().seen;
  replies = server().replies;
});

async function running(stagePatch: Record<string, unknown> = {}) {
  const { t, providerHandle, provider } = await setup();
  const { cardId, stageIds } = await makeBoard(t);
  await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { model: "compatible/test-model", ...stagePatch } });
  const r = await startRunning(t, cardId, providerHandle);
  return { t, cardId, stageIds, provider, ...r };
}

async function llm(rt: { post: (p: string, b: unknown) => Promise<{ status: number; body: any }> }, step: number, observation: string) {
  return await rt.post("llm", { step, observation });
}

describe("model gateway", () => {
  test("a turn goes to the stage's model with the component's key; the conversation persists", async () => {
    const { t, rt, runId, provider, stageIds } = await running();
    // Every prompt opens with the stage marker (gateway/context.ts): which stage's history a turn sees.
    const marker = `[lakitu stage #${stageIds[0]} "Research", attempt 1]\n`;
    replies.push(...[{ content: "```ts\nconsole.log(1)\n```", usage: { prompt_tokens: 100, completion_tokens: 20 } }, { content: "Finished." }]);
    const first = await llm(rt, 0, "Begin.");
    expect(first.status).toBe(200);
    expect(first.body.reply).toBe("```ts\nconsole.log(1)\n```");
    const second = await llm(rt, 1, "stdout:\n1");
    expect(second.body.reply).toBe("Finished.");

    expect(seen.map((s) => s.path)).toEqual(["/v1/chat/completions", "/v1/chat/completions"]);
    expect(seen[0].auth).toBe("Bearer sk-loopback-test-key-0123456789");
    expect(seen[0].body.model).toBe("test-model");
    const [system, ...rest] = seen[1].body.messages;
    expect(system.role).toBe("system");
    expect(system.content).toContain('stage "Research"');
    expect(system.content).toContain("report.md");
    // The second call carries the whole conversation: observation, reply, observation.
    expect(rest.map((m: any) => [m.role, typeof m.content === "string" ? m.content : m.content.map((c: any) => c.text).join("")])).toEqual([
      ["user", `${marker}Begin.`],
      ["assistant", "```ts\nconsole.log(1)\n```"],
      ["user", `${marker}stdout:\n1`],
    ]);
    const run = await getRun(t, runId);
    expect(run.usage).toMatchObject({ inputTokens: 110, outputTokens: 25, steps: 2 });
    // The transcript is visible to the parent app through the component.
    const messages = (await listAll(t, api.transcripts.transcript, { cardId: run.cardId })).reverse();
    expect(messages.map((m) => [m.role, m.text])).toEqual([
      ["user", `${marker}Begin.`],
      ["assistant", "```ts\nconsole.log(1)\n```"],
      ["user", `${marker}stdout:\n1`],
      ["assistant", "Finished."],
    ]);
    // The key stayed in the component: not in the sandbox's environment, not in any document.
    expect(JSON.stringify(provider.latest().envs)).not.toContain("sk-loopback");
    const dump = await t.run(async (ctx) => JSON.stringify(await Promise.all(["runs", "sessions", "events", "cards", "transitions"].map((tb) => ctx.db.query(tb as "runs").collect()))));
    expect(dump).not.toContain("sk-loopback");
  });

  test("a turn retried because its answer was lost gets the same reply without a second model call", async () => {
    const { t, rt, runId } = await running();
    replies.push(...[{ content: "```ts\nconsole.log(2)\n```" }, { content: "second" }]);
    const first = await llm(rt, 0, "Begin.");
    const again = await llm(rt, 0, "Begin.");
    expect(again.body.reply).toBe(first.body.reply);
    expect(seen).toHaveLength(1);
    expect((await getRun(t, runId)).usage.steps).toBe(1);
    expect((await llm(rt, 1, "2")).body.reply).toBe("second");
    const stale = await llm(rt, 0, "Begin.");
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("stale");
  });

  test("maxSteps is enforced: the turn past it ends the agent phase as budget_exceeded with an event", async () => {
    const { t, rt, runId, cardId } = await running({ limits: { maxAttempts: 2, maxSteps: 1 } });
    replies.push(...[{ content: "```ts\nconsole.log(1)\n```" }]);
    expect((await llm(rt, 0, "Begin.")).body.stop).toBeUndefined();
    const over = await llm(rt, 1, "1");
    expect(over.body).toMatchObject({ ok: true, stop: "budget_exceeded", reply: "" });
    expect(seen).toHaveLength(1);
    const events = await listAll(t, api.events.listEvents, { runId });
    expect(events.at(-1)).toMatchObject({ kind: "budget_exceeded", level: "warn" });
    expect(events.at(-1)?.text).toContain("budget reached (maxSteps): the stage allows 1 model steps");
    // Nothing was delivered: QA fails, the run fails on its budget, and the card pauses (no retry).
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "paused");
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("budget_exceeded");
    expect(await listAll(t, api.runs.listRuns, { cardId })).toHaveLength(1);
  });

  test("a model without its key ends the run with a clear reason", async () => {
    const { t, rt, runId } = await running({ model: "openai/gpt-5-mini", limits: { maxAttempts: 1 } });
    const r = await llm(rt, 0, "Begin.");
    expect(r.body.stop).toBe("model_unavailable");
    const run = await getRun(t, runId);
    expect(run.error).toMatchObject({ code: "model_unavailable" });
    expect(run.error?.message).toContain("OPENAI_API_KEY");
  });

  test("a provider that rejects the key ends the run (not retried forever)", async () => {
    const { t, rt, runId } = await running({ limits: { maxAttempts: 1 } });
    replies.push(...[{ status: 401 }]);
    const r = await llm(rt, 0, "Begin.");
    expect(r.body.stop).toBe("model_failed");
    expect((await getRun(t, runId)).error?.code).toBe("model_failed");
  });

  test("the scripted model answers with code that writes every deliverable through the KSAs", async () => {
    const { rt } = await running({ model: "scripted" });
    const r = await llm(rt, 0, "Begin.");
    expect(r.body.reply).toContain('from "lakitu/ksa"');
    expect(r.body.reply).toContain('artifacts.save({ name: "report.md"');
    expect(seen).toHaveLength(0);
    const done = await llm(rt, 1, "wrote report.md");
    expect(done.body.reply).not.toContain("```");
  });

  test("/task describes the run for the runtime", async () => {
    const { rt, runId } = await running();
    const r = await rt.post("task", {});
    expect(r.status).toBe(200);
    expect(r.body.task).toMatchObject({ runId, attempt: 1, outputDir: "out", stage: { name: "Research" }, card: { title: "Write about otters" } });
    expect(r.body.task.stage.allowedKsas).toContain("file");
    expect(r.body.task.stage.allowedKsas).not.toContain("web");
  });
});

describe("server-side KSAs", () => {
  async function ksa(rt: any, k: string, fn: string, args: unknown) {
    return await rt.post("ksa", { ksa: k, fn, args });
  }

  test("plan persists across calls in its own table; the card document does not change", async () => {
    const { t, rt, cardId } = await running();
    const cardBefore = await t.run(async (ctx) => await ctx.db.get(cardId as never));
    const added = await ksa(rt, "plan", "add", { title: "collect sources", kind: "goal" });
    expect(added.body.result).toMatchObject({ id: "t1", title: "collect sources", status: "todo" });
    await ksa(rt, "plan", "update", { id: "t1", status: "done", note: "3 found" });
    const got = await ksa(rt, "plan", "get", {});
    expect(got.body.result.tasks).toEqual([{ id: "t1", title: "collect sources", kind: "goal", status: "done", note: "3 found" }]);
    const card = await t.run(async (ctx) => await ctx.db.get(cardId as never));
    expect(card).toEqual(cardBefore);
    const rows = await t.run(async (ctx) => await ctx.db.query("planTasks").collect());
    expect(rows).toMatchObject([{ cardId, seq: 1, title: "collect sources", kind: "goal", status: "done", note: "3 found" }]);
  });

  test("policy is by exact name: a KSA the stage does not allow is refused, prefixes too", async () => {
    const { rt } = await running({ allowedKsas: ["file", "artifacts"] });
    const plan = await ksa(rt, "plan", "get", {});
    expect(plan.status).toBe(403);
    expect(plan.body.message).toContain('KSA "plan" is not allowed in stage "Research" (allowed: file, artifacts)');
    expect((await ksa(rt, "fil", "read", {})).status).toBe(403);
    expect((await ksa(rt, "files", "read", {})).status).toBe(403);
  });

  test("web is off by default and honest when enabled without network", async () => {
    const { t, rt } = await running({ allowedKsas: ["web"] });
    const off = await ksa(rt, "web", "fetch", { url: "https://example.com" });
    expect(off.status).toBe(403);
    expect(off.body.message).toContain("webEnabled");
    await t.mutation(api.config.configure, { webEnabled: true });
    const loopback = await ksa(rt, "web", "fetch", { url: "http://127.0.0.1:9/" });
    expect(loopback.status).toBe(403);
    expect(loopback.body.message).toContain("the host 127.0.0.1 is a loopback address (127.0.0.0/8)");
    const escape = await ksa(rt, "web", "fetch", { url: "http://127.0.0.1:9/", testOnlyAllowLoopback: true });
    expect(escape.status).toBe(400);
    const unreachable = await ksa(rt, "web", "fetch", { url: "https://lakitu-test.invalid/" });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body.message).toContain("could not reach lakitu-test.invalid");
  });

  test("parameters are validated against the KSA's schema", async () => {
    const { rt } = await running();
    const r = await ksa(rt, "plan", "update", { id: "t1", status: "finished" });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("plan.update");
    const local = await ksa(rt, "file", "read", { path: "x" });
    expect(local.status).toBe(400);
    expect(local.body.message).toContain("not a server-side KSA function");
  });
});


describe("template pinning", () => {
  test("a run pinned to a template version refuses a runtime of another version, and the card is blocked", async () => {
    const { t, providerHandle, provider } = await setup();
    await t.mutation(api.config.configure, { template: "lakitu", templateVersion: "4c7820d2ec69" });
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    const create = provider.calls.find((c) => c.op === "create");
    expect(create).toMatchObject({ template: "lakitu:4c7820d2ec69" });
    const wrong = await rt.post("task", { runtimeVersion: "1a2b3c4d5e6f" });
    expect(wrong.status).toBe(409);
    expect(wrong.body).toMatchObject({ ok: false, code: "template_mismatch" });
    expect(wrong.body.message).toContain("pinned to lakitu:4c7820d2ec69 but its sandbox runs 1a2b3c4d5e6f");
    const run = await getRun(t, runId);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("template_mismatch");
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "blocked");
    expect(await listAll(t, api.runs.listRuns, { cardId })).toHaveLength(1); // no retry: it would start the same template
  });

  test("the matching version is accepted", async () => {
    const { t, providerHandle } = await setup();
    await t.mutation(api.config.configure, { template: "lakitu", templateVersion: "4c7820d2ec69" });
    const { cardId } = await makeBoard(t);
    const { rt } = await startRunning(t, cardId, providerHandle);
    const ok = await rt.post("task", { runtimeVersion: "4c7820d2ec69" });
    expect(ok.status).toBe(200);
    expect(ok.body.task.stage.name).toBe("Research");
  });
});
