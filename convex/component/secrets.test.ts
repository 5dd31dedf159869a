/**
 * Nothing the runtime sends is stored with a secret in it: the session token, the app's configured
 * secrets (env var names, values read at use) and the model keys, literal or encoded, in event kinds,
 * texts, data keys and values, completion summaries and manifests, artifact names and content types.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import { makeBoard, setup, type T } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";
import { makeRedactor } from "../shared/redact.js";
import { isLakituError } from "../shared/errors.js";
import { listAll } from "../testing/listAll.js";

const APP_SECRET = "app-secret-value-0042";
const MODEL_KEY = "model-key-value-0042-abcdef";

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubEnv("LAKITU_TEST_APP_SECRET", APP_SECRET);
  vi.stubEnv("OPENROUTER_API_KEY", MODEL_KEY);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

async function running() {
  const { t, providerHandle } = await setup();
  await t.mutation(api.config.configure, { secrets: ["LAKITU_TEST_APP_SECRET"] });
  const { cardId } = await makeBoard(t);
  const r = await startRunning(t, cardId, providerHandle);
  return { t, cardId, ...r };
}

const TABLES = ["boards", "stages", "cards", "runs", "sessions", "events", "artifacts", "inbox", "transitions", "config", "turns"] as const;
async function dump(t: T): Promise<string> {
  return await t.run(async (ctx) => JSON.stringify(await Promise.all(TABLES.map((tb) => ctx.db.query(tb as "runs").collect()))));
}

const b64 = (s: string) => btoa(s);
const hex = (s: string) => Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

/** Every way the three secrets are slipped in below. */
function leaksOf(token: string) {
  return [
    token,
    b64(`.${token}`),
    b64(token).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"),
    hex(APP_SECRET).toUpperCase(),
    encodeURIComponent(MODEL_KEY),
    APP_SECRET,
  ];
}

describe("redaction of what the runtime stores", () => {
  test("event kinds, texts, data keys and values lose every secret, literal or encoded", async () => {
    const { t, rt } = await running();
    const [tok, b64a, b64u, hexU, pct, app] = leaksOf(rt.token);
    const r = await rt.post("events", {
      events: [
        { seq: 0, kind: "log", text: `token ${tok} and ${b64a}` },
        { seq: 1, kind: "log", data: { [tok]: "token as a key", nested: [{ [`k-${app}`]: b64u }], hex: hexU, pct } },
        { seq: 2, kind: `k${app}`, text: `model key ${MODEL_KEY}` },
      ],
    });
    expect(r.body).toMatchObject({ ok: true, stored: 3 });
    const stored = await dump(t);
    expect(makeRedactor([rt.token, APP_SECRET, MODEL_KEY], []).leaks(stored)).toBe(false);
    const events = await listAll(t, api.events.listEvents, { runId: rt.sandbox.envs.LAKITU_RUN_ID });
    expect(events[1].data).toMatchObject({ "[REDACTED]": "token as a key", nested: [{ "k-[REDACTED]": expect.stringMatching(/^\[REDACTED\].?$/) }] });
    // (An encoding keeps at most its last character, which also depends on what follows the secret.)
  });

  test("completion summaries and manifests, artifact names and content types lose every secret", async () => {
    const { t, rt, runId } = await running();
    const up = await t.fetch(`/artifacts?${new URLSearchParams({ name: `out-${APP_SECRET}.md` })}`, {
      method: "POST",
      headers: { ...rt.headers(), "content-type": `text/markdown; x=${b64(rt.token)}` },
      body: "# Report\n\nOtters are great swimmers.",
    });
    expect(up.status).toBe(200);
    const done = await rt.post("complete", {
      status: "succeeded",
      summary: `done with ${rt.token} and ${hex(MODEL_KEY)}`,
      manifest: [{ name: `out-${APP_SECRET}.md` }],
    });
    expect(done.body.accepted).toBe(true);
    const stored = await dump(t);
    expect(makeRedactor([rt.token, APP_SECRET, MODEL_KEY], []).leaks(stored)).toBe(false);
    const [art] = await listAll(t, api.artifacts.listArtifacts, { runId });
    expect(art.name).toBe("out-[REDACTED].md");
    // The manifest names the stored (redacted) artifact, so QA still finds it by its hash.
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.completion?.manifest).toEqual([{ name: "out-[REDACTED].md", sha256: art.sha256 }]);
  });

  test("the checker used above reports a secret planted in a document (no vacuous pass)", async () => {
    const { t, rt, runId } = await running();
    await t.run(async (ctx) => {
      await ctx.db.insert("events", { runId: runId as never, seq: 7, kind: "log", level: "info", text: hex(rt.token), ts: 0 });
    });
    expect(makeRedactor([rt.token], []).leaks(await dump(t))).toBe(true);
  });
});

describe("what the sandbox and the run documents receive", () => {
  test("a steering message that carries a secret reaches the runtime redacted", async () => {
    const { t, rt, runId } = await running();
    await t.mutation(api.inbox.sendMessage, { runId, text: `use ${APP_SECRET} and ${b64(MODEL_KEY)}` });
    const r = await rt.post("inbox", { afterSeq: -1 });
    expect(r.body.messages).toHaveLength(1);
    expect(r.body.messages[0].text).toMatch(/^use \[REDACTED\] and \[REDACTED\]/);
    expect(makeRedactor([APP_SECRET, MODEL_KEY], []).leaks(JSON.stringify(r.body))).toBe(false);
  });

  test("the task sent to the sandbox carries no configured secret or model key", async () => {
    const { t, providerHandle } = await setup();
    await t.mutation(api.config.configure, { secrets: ["LAKITU_TEST_APP_SECRET"] });
    const { boardId } = await makeBoard(t);
    const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Pasted a secret", description: `key ${MODEL_KEY}`, context: { apiKey: APP_SECRET } });
    const { rt } = await startRunning(t, cardId, providerHandle);
    const r = await rt.post("task", {});
    expect(r.status).toBe(200);
    expect(r.body.task.card).toEqual({ title: "Pasted a secret", description: "key [REDACTED]", context: { apiKey: "[REDACTED]" } });
  });

  test("a sandbox provider error that echoes a key is stored scrubbed and short", async () => {
    const { t, runId } = await running();
    const e2bKey = `e2b_${"a1".repeat(20)}`;
    await t.mutation(internal.sessions.provisionFailed, { runId: runId as never, message: `provider auth: bad key ${e2bKey} (${MODEL_KEY}) ${"x".repeat(2000)}` });
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.error?.code).toBe("provider_failed");
    expect(run?.error?.message).toMatch(/^provider auth: bad key \[REDACTED\] \(\[REDACTED\]\)/);
    expect(run!.error!.message.length).toBeLessThan(600);
    expect(makeRedactor([e2bKey, MODEL_KEY], []).leaks(await dump(t))).toBe(false);
  });
});

describe("configured secrets", () => {
  test("are env var names; the value is never stored", async () => {
    const { t } = await setup();
    const c = await t.mutation(api.config.configure, { secrets: ["LAKITU_TEST_APP_SECRET"] });
    expect(c.secrets).toEqual(["LAKITU_TEST_APP_SECRET"]);
    expect(await dump(t)).not.toContain(APP_SECRET);
  });

  test("a value passed where a name belongs is refused with a clear error", async () => {
    const { t } = await setup();
    const e = await t.mutation(api.config.configure, { secrets: ["sk-live 123"] }).catch((x: unknown) => x);
    expect(isLakituError(e, "invalid_argument")).toBe(true);
    expect((e as { data: { message: string } }).data.message).toMatch(/secrets entry "sk-live 123" is not an environment variable name.*NAMES/);
  });
});
