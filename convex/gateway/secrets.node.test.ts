/**
 * Secrets and the model gateway, over real HTTP on both sides: what the model server receives, what
 * the sandbox gets back, and what any document (ours and the agent component's) keeps.
 */
import * as vitest from "vitest";
import { describe, expect, test } from "vitest";
import { api, components } from "../component/_generated/api.js";
import { makeBoard, setup } from "../testing/harness.js";
import { getRun, startRunning } from "../testing/runHelpers.js";
import { useModelServer, type ScriptedReply, type SeenRequest } from "../testing/modelServer.js";
import { makeRedactor } from "../shared/redact.js";
import { listAll } from "../testing/listAll.js";

const KEY = "sk-loopback-echo-key-0123456789abcdef";
const server = useModelServer(vitest, KEY);
let seen: SeenRequest[] = [];
let replies: ScriptedReply[] = [];
vitest.beforeEach(() => {
  seen = server().seen;
  replies = server().replies;
});

async function running(stagePatch: Record<string, unknown> = {}) {
  const { t, providerHandle } = await setup();
  const { cardId, stageIds } = await makeBoard(t);
  await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { model: "compatible/test-model", limits: { maxAttempts: 1 }, ...stagePatch } });
  const r = await startRunning(t, cardId, providerHandle);
  return { t, cardId, ...r };
}

/** Every document of ours and of the agent component (messages with their errors), as JSON. */
async function everything(t: Awaited<ReturnType<typeof running>>["t"], cardId: string): Promise<string> {
  const tables = ["runs", "sessions", "events", "cards", "transitions", "turns", "artifacts", "inbox", "config"] as const;
  const ours = await t.run(async (ctx) => JSON.stringify(await Promise.all(tables.map((tb) => ctx.db.query(tb as "runs").collect()))));
  const threadId = await t.run(async (ctx) => (await ctx.db.get(ctx.db.normalizeId("cards", cardId)!))?.threadId);
  const agent = threadId
    ? await t.run(async (ctx) =>
        JSON.stringify(
          await ctx.runQuery(components.agent.messages.listMessagesByThreadId, {
            threadId,
            order: "asc",
            statuses: ["success", "failed", "pending"],
            paginationOpts: { numItems: 100, cursor: null },
          }),
        ),
      )
    : "";
  return ours + agent;
}

describe("model errors are summaries", () => {
  test("a provider error body that echoes the API key reaches neither the sandbox nor any document", async () => {
    const { t, rt, runId, cardId } = await running();
    replies.push({ status: 401, errorBody: { error: { message: `Incorrect API key provided: ${KEY}. Check ${Buffer.from(KEY).toString("base64")}`, code: "invalid_api_key" } } });
    const r = await rt.post("llm", { step: 0, observation: "Begin." });
    expect(r.body.stop).toBe("model_failed");
    expect(JSON.stringify(r.body)).not.toContain("loopback-echo");
    const run = await getRun(t, runId);
    expect(run.error?.code).toBe("model_failed");
    // The summary: HTTP status, the provider's code, the scrubbed message.
    expect(run.error?.message).toMatch(/^HTTP 401 \(invalid_api_key\): Incorrect API key provided: \[REDACTED\]/);
    expect(run.error!.message.length).toBeLessThan(400);
    const dump = await everything(t, cardId);
    expect(dump).toContain("HTTP 401 (invalid_api_key)");
    expect(makeRedactor([KEY], []).leaks(dump)).toBe(false);
  });

  test("a retryable provider error answers the sandbox with a summary, not the body", async () => {
    const { t, rt, cardId } = await running();
    const echo = { status: 500, errorBody: { error: { message: `upstream exploded for key ${KEY}`, type: "server_error" } } };
    replies.push(echo, echo, echo);
    const pending = rt.post("llm", { step: 0, observation: "Begin." });
    // The AI SDK backs off between its retries; let fake time pass until the answer arrives, with the
    // runtime heartbeating meanwhile (however slowly real time goes, the watchdog must not end the run).
    let r: Awaited<typeof pending> | undefined;
    void pending.then((x) => (r = x));
    for (let i = 0; i < 2_000 && r === undefined; i++) {
      await vitest.vi.advanceTimersByTimeAsync(200);
      if (i % 10 === 0) expect((await rt.heartbeat()).status).toBe(200);
    }
    expect(r!.status).toBe(502);
    expect(r!.body.code).toBe("model_failed");
    expect(r!.body.message).toContain("HTTP 500 (server_error)");
    expect(r!.body.message).not.toContain("loopback-echo");
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(makeRedactor([KEY], []).leaks(await everything(t, cardId))).toBe(false);
  });
});

describe("observations are redacted before the model and the transcript", () => {
  test("the token, a configured secret and the model key, literal or encoded, never reach the model", async () => {
    vitest.vi.stubEnv("APP_SECRET_FOR_TEST", "app-secret-value-42");
    const { t, rt, cardId } = await running();
    await t.mutation(api.config.configure, { secrets: ["APP_SECRET_FOR_TEST"] });
    const token = rt.token;
    const b64url = Buffer.from(`x${token}`).toString("base64url");
    const observation = [
      `token ${token}`,
      `b64 ${b64url}`,
      `hex ${Buffer.from("app-secret-value-42").toString("hex").toUpperCase()}`,
      `key ${encodeURIComponent(KEY)}`,
    ].join("\n");
    replies.push({ content: "Finished." });
    expect((await rt.post("llm", { step: 0, observation })).status).toBe(200);
    const sent = JSON.stringify(seen[0].body);
    const secrets = makeRedactor([token, "app-secret-value-42", KEY], []);
    expect(secrets.leaks(sent)).toBe(false);
    expect(sent).toContain("[REDACTED]");
    const messages = (await listAll(t, api.transcripts.transcript, { cardId })).reverse();
    expect(secrets.leaks(JSON.stringify(messages))).toBe(false);
    expect(secrets.leaks(await everything(t, cardId))).toBe(false);
    // The configuration holds the variable's name, never its value.
    expect((await t.query(api.config.getConfig, {})).secrets).toEqual(["APP_SECRET_FOR_TEST"]);
  });

  test("the leak check used above does see a secret that is there (it cannot pass vacuously)", async () => {
    const { t, rt, cardId } = await running();
    // Planted on purpose, bypassing redaction: the checker must report it.
    await t.run(async (ctx) => {
      const run = (await ctx.db.query("runs").first())!;
      await ctx.db.insert("events", { runId: run._id, seq: 999, kind: "log", level: "info", text: Buffer.from(`ab${rt.token}`).toString("base64"), ts: 0 });
    });
    expect(makeRedactor([rt.token], []).leaks(await everything(t, cardId))).toBe(true);
  });
});
