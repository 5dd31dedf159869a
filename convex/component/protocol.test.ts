/**
 * The runtime-facing HTTP protocol, exercised over `t.fetch` exactly as a sandbox runtime would call it:
 * exactly-once events, first-writer-wins completion, token and generation checks, redaction, steering,
 * heartbeats and artifacts.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import { CALLBACK_URL, SimRuntime, advance, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import type { FakeSandbox, TestProvider } from "../testkit/provider.js";
import { listAll } from "../testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const TABLES = ["boards", "stages", "cards", "runs", "sessions", "events", "artifacts", "inbox", "transitions", "config"] as const;

/** A board with one card whose run is `running`, and the runtime of its sandbox. */
async function running(opts: { heartbeatTimeoutMs?: number; idleTimeoutMs?: number; maxAttempts?: number } = {}) {
  const { t, providerHandle, provider } = await setup();
  if (opts.heartbeatTimeoutMs !== undefined) await t.mutation(api.config.configure, { heartbeatTimeoutMs: opts.heartbeatTimeoutMs });
  if (opts.idleTimeoutMs !== undefined) await t.mutation(api.config.configure, { defaultIdleTimeoutMs: opts.idleTimeoutMs });
  const board = await makeBoard(t, { maxAttempts: opts.maxAttempts });
  const { runId } = await t.mutation(api.runs.runCard, { cardId: board.cardId, providerHandle, callbackUrl: CALLBACK_URL });
  await until(t, async () => (await runStatus(t, runId)) === "running");
  const rt = new SimRuntime(t, sandboxOf(provider, runId));
  return { t, providerHandle, provider, rt, runId, ...board };
}

function sandboxOf(provider: TestProvider, runId: string): FakeSandbox {
  const s = [...provider.sandboxes.values()].find((x) => x.envs.LAKITU_RUN_ID === runId);
  if (!s) throw new Error(`no sandbox for run ${runId}`);
  return s;
}

async function eventsOf(t: T, runId: string) {
  return await t.run(async (ctx) => {
    const all = await ctx.db.query("events").collect();
    return all.filter((e) => e.runId === runId);
  });
}
async function count(t: T, table: (typeof TABLES)[number]) {
  return await t.run(async (ctx) => (await ctx.db.query(table).collect()).length);
}
async function storageCount(t: T) {
  return await t.run(async (ctx) => (await ctx.db.system.query("_storage").collect()).length);
}
async function runTransitions(t: T, cardId: string, runId: string) {
  return ((await listAll(t, api.runs.listTransitions, { cardId })).reverse()).filter((r) => r.runId === runId);
}
async function hex(bytes: Uint8Array) {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("events", () => {
  test("a duplicated batch stores nothing new", async () => {
    const { t, rt, runId } = await running();
    const batch = { events: [0, 1, 2].map((seq) => ({ seq, kind: "log", text: `line ${seq}` })) };
    expect((await rt.post("events", batch)).body).toEqual({ ok: true, stored: 3, duplicates: 0 });
    expect((await rt.post("events", batch)).body).toEqual({ ok: true, stored: 0, duplicates: 3 });
    // Overlapping batch: two old, one new.
    const overlap = { events: [1, 2, 3].map((seq) => ({ seq, kind: "log", text: `again ${seq}` })) };
    expect((await rt.post("events", overlap)).body).toEqual({ ok: true, stored: 1, duplicates: 2 });
    // The same seq twice inside one batch counts once.
    const inBatch = { events: [{ seq: 4, kind: "log", text: "a" }, { seq: 4, kind: "log", text: "b" }] };
    expect((await rt.post("events", inBatch)).body).toEqual({ ok: true, stored: 1, duplicates: 1 });
    const stored = await eventsOf(t, runId);
    expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    // First writer wins: a duplicate never overwrites.
    expect(stored.find((e) => e.seq === 1)?.text).toBe("line 1");
    expect(stored.find((e) => e.seq === 4)?.text).toBe("a");
  });

  test("out-of-order batches end up in seq order without gaps or duplicates", async () => {
    const { t, rt, runId } = await running();
    const ev = (seq: number) => ({ seq, kind: "log", text: `e${seq}` });
    expect((await rt.post("events", { events: [ev(5), ev(3), ev(4)] })).body).toMatchObject({ stored: 3, duplicates: 0 });
    expect((await rt.post("events", { events: [ev(0), ev(1), ev(2)] })).body).toMatchObject({ stored: 3, duplicates: 0 });
    // A retry of the first batch after the gap was filled.
    expect((await rt.post("events", { events: [ev(5), ev(3), ev(4)] })).body).toMatchObject({ stored: 0, duplicates: 3 });
    const { page: events, isDone } = await t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 100, cursor: null } });
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(events.map((e) => e.text)).toEqual(["e0", "e1", "e2", "e3", "e4", "e5"]);
    expect(isDone).toBe(true);
  });

  test("listEvents pages with paginationOpts, from afterSeq, and a finished page's cursor picks up new events", async () => {
    const { t, rt, runId } = await running();
    await rt.events(Array.from({ length: 7 }, (_, i) => `m${i}`));
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    for (;;) {
      const page: { page: Array<{ seq: number }>; isDone: boolean; continueCursor: string } = await t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 3, cursor } });
      expect(page.page.length).toBeLessThanOrEqual(3);
      seen.push(...page.page.map((e) => e.seq));
      pages++;
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(pages).toBe(3);
    const mid = await t.query(api.events.listEvents, { runId, afterSeq: 4, paginationOpts: { numItems: 10, cursor: null } });
    expect(mid.page.map((e) => e.seq)).toEqual([5, 6]);
    // New events after the cursor show up on the next poll.
    await rt.events(["m7"]);
    const next = await t.query(api.events.listEvents, { runId, afterSeq: 6, paginationOpts: { numItems: 10, cursor: null } });
    expect(next.page.map((e) => e.text)).toEqual(["m7"]);
  });

  test("event fields are stored as sent, with defaults for level and ts", async () => {
    const { t, rt, runId } = await running();
    const r = await rt.post("events", {
      events: [
        { seq: 0, kind: "tool", level: "warn", text: "hi", data: { args: [1, "two", null], nested: { a: true } }, ts: 1234 },
        { seq: 1, kind: "log" },
        { seq: 2, kind: "tool", data: "just a string" },
      ],
    });
    expect(r.status).toBe(200);
    const events = await listAll(t, api.events.listEvents, { runId });
    expect(events[0]).toEqual({ seq: 0, kind: "tool", level: "warn", text: "hi", data: { args: [1, "two", null], nested: { a: true } }, ts: 1234 });
    expect(events[1]).toMatchObject({ seq: 1, kind: "log", level: "info" });
    expect(events[1].data).toBeUndefined();
    expect(events[1].ts).toBe(Date.now());
    expect(events[2].data).toBe("just a string");
  });

  test("event data with keys no Convex value can hold is stored and read back as JSON text", async () => {
    const { t, rt, runId } = await running();
    const data = { $schema: "https://json-schema.org/draft/2020-12/schema", properties: { "naïve": { $ref: "#/x" } } };
    const r = await rt.post("events", { events: [{ seq: 0, kind: "tool", data }, { seq: 1, kind: "log", text: "after" }] });
    expect(r.body).toMatchObject({ ok: true, stored: 2 });
    expect(JSON.parse((await eventsOf(t, runId)).find((e) => e.seq === 0)!.data!)).toEqual(data);
    // Reading the run's events still works, and the payload is intact as JSON text.
    const events = await listAll(t, api.events.listEvents, { runId });
    expect(events.map((e) => e.seq)).toEqual([0, 1]);
    expect(JSON.parse((events[0].data as { jsonText: string }).jsonText)).toEqual(data);
  });

  test("an oversized event text is truncated to maxEventBytes", async () => {
    const { t, rt, runId } = await running();
    await t.mutation(api.config.configure, { maxEventBytes: 256 });
    await rt.events(["x".repeat(1000)]);
    const [e] = await eventsOf(t, runId);
    expect(e.text!.startsWith("x".repeat(256))).toBe(true);
    expect(e.text).toContain("truncated 744 chars");
    expect(e.text!.length).toBeLessThan(300);
  });
});

describe("complete", () => {
  test("a complete retried after its answer was lost is acknowledged again, and changes nothing", async () => {
    const { t, rt, runId, cardId } = await running();
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ accepted: true });
    const rows = await runTransitions(t, cardId, runId);
    expect((await rt.complete("succeeded", ["report.md"])).body).toMatchObject({ ok: true, accepted: true, status: "collecting" });
    expect(await runTransitions(t, cardId, runId)).toEqual(rows);
  });

  test("a duplicate complete returns accepted:false and changes nothing", async () => {
    const { t, rt, runId, cardId } = await running();
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    const first = await rt.complete("succeeded", ["report.md"]);
    expect(first).toEqual({ status: 200, body: { ok: true, accepted: true, status: "collecting" } });
    const rowsAfterFirst = await runTransitions(t, cardId, runId);
    const runAfterFirst = await t.query(api.runs.getRun, { runId });
    const second = await rt.post("complete", { status: "failed", error: "changed my mind", manifest: [] });
    expect(second).toEqual({ status: 200, body: { ok: true, accepted: false, status: "collecting" } });
    expect(await runTransitions(t, cardId, runId)).toEqual(rowsAfterFirst);
    const runAfterSecond = await t.query(api.runs.getRun, { runId });
    expect(runAfterSecond?.completion).toEqual(runAfterFirst?.completion);
    expect(runAfterSecond?.completion?.status).toBe("succeeded");
    expect(runAfterSecond?.error).toBeUndefined();
    // The run goes on to succeed exactly once.
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
    const rows = await runTransitions(t, cardId, runId);
    expect(rows.filter((r) => r.entity === "run" && r.to === "collecting")).toHaveLength(1);
    expect(rows.filter((r) => r.entity === "run" && r.to === "succeeded")).toHaveLength(1);
  });

  test("a complete after cancelRun is ignored and the token is revoked", async () => {
    const { t, rt, runId, cardId } = await running();
    expect(await t.mutation(api.runs.cancelRun, { runId, reason: "user pressed stop" })).toEqual({ canceled: true, status: "canceled" });
    const rows = await runTransitions(t, cardId, runId);
    const r = await rt.complete("succeeded");
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ ok: false, code: "unauthorized" });
    expect(r.body.message).toMatch(/revoked/);
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.status).toBe("canceled");
    expect(run?.completion).toBeUndefined();
    expect(await runTransitions(t, cardId, runId)).toEqual(rows);
    // Every other route refuses the revoked token too.
    expect((await rt.events(["late"])).status).toBe(401);
    expect((await rt.heartbeat()).status).toBe(401);
    expect((await rt.post("inbox", { afterSeq: -1 })).status).toBe(401);
    expect((await rt.upload("late.md", "late words here")).status).toBe(401);
    expect(await eventsOf(t, runId)).toHaveLength(0);
    await advance(t, 2000);
    expect(await runStatus(t, runId)).toBe("canceled");
    expect((await t.query(api.cards.getCard, { cardId }))?.status).toBe("idle");
  });

  test("a complete after the watchdog ended the run is ignored", async () => {
    const { t, rt, runId, cardId } = await running({ heartbeatTimeoutMs: 2_000, maxAttempts: 1 });
    await until(t, async () => (await runStatus(t, runId)) === "failed", 10_000);
    // Let the workflow settle the card (blocked: no attempts left) before taking the snapshot.
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "blocked");
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.error?.code).toBe("heartbeat_timeout");
    const rows = await runTransitions(t, cardId, runId);
    const r = await rt.complete("succeeded");
    expect(r.status).toBe(401);
    expect(r.body.code).toBe("unauthorized");
    await advance(t, 1000);
    const after = await t.query(api.runs.getRun, { runId });
    expect(after?.status).toBe("failed");
    expect(after?.completion).toBeUndefined();
    expect(await runTransitions(t, cardId, runId)).toEqual(rows);
  });

  test("a watchdog expiry arriving after complete is ignored (first writer wins)", async () => {
    const { t, rt, runId, cardId } = await running();
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    expect((await rt.complete("succeeded", ["report.md"])).body.accepted).toBe(true);
    const sessionId = (await t.query(api.runs.getRun, { runId }))!.session!.sessionId;
    const rows = await runTransitions(t, cardId, runId);
    await t.mutation(internal.watchdog.expire, { sessionId: sessionId as never, heartbeatAt: 0, gone: true, detail: "late" });
    expect(await runStatus(t, runId)).toBe("collecting");
    expect(await runTransitions(t, cardId, runId)).toEqual(rows);
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
  });

  test("complete with status canceled fails the run with the runtime's reason", async () => {
    const { t, rt, runId } = await running({ maxAttempts: 1 });
    const r = await rt.post("complete", { status: "canceled", error: "agent gave up", manifest: [] });
    expect(r.body).toEqual({ ok: true, accepted: true, status: "failed" });
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.error).toEqual({ code: "runtime_canceled", message: "agent gave up" });
    expect((await rt.heartbeat()).status).toBe(401);
  });
});

describe("authentication", () => {
  test("an upload with a wrong token is refused as unauthorized before its name is looked at", async () => {
    const { t, rt } = await running();
    const headers = rt.headers({ authorization: `Bearer ${rt.token.slice(0, -4)}AAAA`, "content-type": "text/plain" });
    const r = await t.fetch(`/artifacts?name=${encodeURIComponent("../escape.md")}`, { method: "POST", headers, body: "x" });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ ok: false, code: "unauthorized" });
  });

  test("a stale generation is refused with 409 stale and stores nothing", async () => {
    const { t, rt, runId } = await running();
    const gen = Number(rt.sandbox.envs.LAKITU_GENERATION);
    for (const other of [gen + 1, gen - 1, 999]) {
      const headers = rt.headers({ "x-lakitu-generation": String(other) });
      const r = await rt.post("events", { events: [{ seq: 0, kind: "log", text: "stale" }] }, headers);
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ ok: false, code: "stale" });
      expect(r.body.message).toContain(`generation ${other}`);
      expect((await rt.post("complete", { status: "succeeded", manifest: [] }, headers)).body.code).toBe("stale");
      expect((await rt.post("heartbeat", {}, headers)).status).toBe(409);
    }
    expect(await eventsOf(t, runId)).toHaveLength(0);
    expect(await runStatus(t, runId)).toBe("running");
  });

  test("missing, malformed or wrong tokens are 401 and store nothing", async () => {
    const { t, rt, runId } = await running();
    const body = JSON.stringify({ events: [{ seq: 0, kind: "log", text: "x" }] });
    const gen = rt.sandbox.envs.LAKITU_GENERATION;
    const send = async (headers: Record<string, string>) => {
      const res = await t.fetch("/events", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      return { status: res.status, body: (await res.json()) as any };
    };
    const missing = await send({ "x-lakitu-generation": gen });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ ok: false, code: "unauthorized" });
    expect(missing.body.message).toMatch(/missing bearer token/);
    expect((await send({ authorization: "Basic abc", "x-lakitu-generation": gen })).status).toBe(401);
    expect((await send({ authorization: "Bearer not-a-token", "x-lakitu-generation": gen })).status).toBe(401);
    // Right shape, right session, random secret.
    const [prefix, sessionId] = rt.token.split(".");
    const forged = `${prefix}.${sessionId}.${"A".repeat(43)}`;
    const wrong = await send({ authorization: `Bearer ${forged}`, "x-lakitu-generation": gen });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: "unauthorized", message: "invalid session token" });
    // Right secret with another session id.
    const secret = rt.token.split(".")[2];
    const other = await send({ authorization: `Bearer lkt.${runId}.${secret}`, "x-lakitu-generation": gen });
    expect(other.status).toBe(401);
    // Missing generation header: 400, not processed.
    const noGen = await send({ authorization: `Bearer ${rt.token}` });
    expect(noGen.status).toBe(400);
    expect(noGen.body.message).toMatch(/X-Lakitu-Generation/);
    expect(await eventsOf(t, runId)).toHaveLength(0);
    // The real token still works.
    expect((await send({ authorization: `Bearer ${rt.token}`, "x-lakitu-generation": gen })).status).toBe(200);
    expect(await eventsOf(t, runId)).toHaveLength(1);
  });

  test("the token is revoked once the run ends", async () => {
    const { t, rt, runId } = await running();
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
    const before = (await eventsOf(t, runId)).length;
    const r = await rt.events(["after the end"]);
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/revoked/);
    expect((await rt.heartbeat()).status).toBe(401);
    expect((await eventsOf(t, runId)).length).toBe(before);
    const session = await t.run(async (ctx) => (await ctx.db.query("sessions").collect())[0]);
    expect(session.tokenHash).toBeUndefined();
    expect(session.revokedAt).toBeTypeOf("number");
  });

  test("another session's token cannot write to the first run", async () => {
    const { t, providerHandle, provider } = await setup();
    const { boardId, cardId } = await makeBoard(t);
    const card2 = await t.mutation(api.cards.addCard, { boardId, title: "Write about beavers" });
    const { runId: run1 } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
    const { runId: run2 } = await t.mutation(api.runs.runCard, { cardId: card2, providerHandle, callbackUrl: CALLBACK_URL });
    await until(t, async () => (await runStatus(t, run1)) === "running" && (await runStatus(t, run2)) === "running");
    const rt1 = new SimRuntime(t, sandboxOf(provider, run1));
    const rt2 = new SimRuntime(t, sandboxOf(provider, run2));
    expect(rt1.token).not.toBe(rt2.token);
    // Runtime 2 with its own token but runtime 1's generation header (both cards are at generation 1).
    expect(rt1.sandbox.envs.LAKITU_GENERATION).toBe(rt2.sandbox.envs.LAKITU_GENERATION);
    const r = await rt2.post("events", { events: [{ seq: 0, kind: "log", text: "from 2" }] }, rt2.headers({ "x-lakitu-generation": rt1.sandbox.envs.LAKITU_GENERATION }));
    expect(r.body).toMatchObject({ ok: true, stored: 1 });
    // A generation that does not match session 2 is stale.
    const stale = await rt2.post("events", { events: [{ seq: 1, kind: "log", text: "x" }] }, rt2.headers({ "x-lakitu-generation": "7" }));
    expect(stale.status).toBe(409);
    // Splicing run 1's session id into token 2 is unauthorized.
    const [, s1] = rt1.token.split(".");
    const spliced = `lkt.${s1}.${rt2.token.split(".")[2]}`;
    const bad = await rt2.post("events", { events: [{ seq: 2, kind: "log", text: "x" }] }, rt2.headers({ authorization: `Bearer ${spliced}` }));
    expect(bad.status).toBe(401);
    // Completion with token 2 completes run 2 only.
    await rt2.upload("report.md", "# Beavers\n\nBeavers build dams.");
    expect((await rt2.complete("succeeded", ["report.md"])).body.accepted).toBe(true);
    expect(await eventsOf(t, run1)).toHaveLength(0);
    expect((await eventsOf(t, run2)).map((e) => e.text)).toEqual(["from 2"]);
    expect(await runStatus(t, run1)).toBe("running");
    expect(await listAll(t, api.artifacts.listArtifacts, { runId: run1 })).toHaveLength(0);
    expect(await runStatus(t, run2)).toBe("collecting");
  });

  test("the token is stored only as a hash and redacted wherever the runtime echoes it", async () => {
    const { t, rt, runId, cardId } = await running();
    const token = rt.token;
    const r = await rt.post("events", {
      events: [
        { seq: 0, kind: "log", text: `my token is ${token} ok` },
        { seq: 1, kind: "env", data: { LAKITU_TOKEN: token, list: [`Bearer ${token}`] } },
        { seq: 2, kind: `kind-${token}`.slice(0, 64) },
        { seq: 3, kind: "log", text: `key sk-${"a".repeat(20)} end` },
      ],
    });
    expect(r.body).toMatchObject({ ok: true, stored: 4 });
    const stored = await eventsOf(t, runId);
    expect(stored.find((e) => e.seq === 0)?.text).toBe("my token is [REDACTED] ok");
    expect(stored.find((e) => e.seq === 1)?.data).toContain("[REDACTED]");
    expect(stored.find((e) => e.seq === 3)?.text).toBe("key [REDACTED] end");
    await t.mutation(api.inbox.sendMessage, { runId, text: "keep going" });
    await rt.post("inbox", { afterSeq: -1 });
    await rt.heartbeat();
    await rt.upload("report.md", `# Report\n\nOtters are great swimmers.`);
    await rt.post("complete", {
      status: "succeeded",
      summary: `done with ${token}`,
      error: `nothing wrong, ${token}`,
      manifest: [{ name: "report.md", type: "markdown", sha256: token }],
    });
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
    const secret = token.split(".")[2];
    const dump = await t.run(async (ctx) => {
      const out: Record<string, unknown[]> = {};
      for (const table of TABLES) out[table] = await ctx.db.query(table).collect();
      return JSON.stringify(out);
    });
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(secret);
    expect(dump).toContain("[REDACTED]");
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.completion?.summary).toBe("done with [REDACTED]");
    expect(run?.completion?.error).toBe("nothing wrong, [REDACTED]");
    // A "hash" that is not a SHA-256 names nothing: the entry is pinned to the uploaded version's hash.
    expect(run?.completion?.manifest).toEqual([{ name: "report.md", type: "markdown", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect((await t.query(api.cards.getCard, { cardId }))?.stageId).toBeDefined();
  });

  test("the session keeps the token's SHA-256 while running", async () => {
    const { t, rt } = await running();
    const session = await t.run(async (ctx) => (await ctx.db.query("sessions").collect())[0]);
    expect(session.tokenHash).toBe(await hex(new TextEncoder().encode(rt.token)));
    expect(rt.token).toMatch(new RegExp(`^lkt\\.${session._id}\\.[A-Za-z0-9_-]{43}$`));
  });
});

describe("steering", () => {
  test("inbox returns pending messages and acknowledges up to afterSeq", async () => {
    const { t, rt, runId } = await running();
    expect((await rt.post("inbox", { afterSeq: -1 })).body).toEqual({ ok: true, messages: [] });
    expect(await t.mutation(api.inbox.sendMessage, { runId, text: "focus on sea otters", author: "ann" })).toEqual({ seq: 0 });
    const first = await rt.post("inbox", { afterSeq: -1 });
    expect(first.body).toEqual({ ok: true, messages: [{ seq: 0, text: "focus on sea otters", author: "ann" }] });
    // Pulling again without acknowledging returns it again.
    expect((await rt.post("inbox", { afterSeq: -1 })).body.messages).toHaveLength(1);
    expect(await t.mutation(api.inbox.sendMessage, { runId, text: "and cite sources" })).toEqual({ seq: 1 });
    const second = await rt.post("inbox", { afterSeq: 0 });
    expect(second.body.messages).toEqual([{ seq: 1, text: "and cite sources" }]);
    const rows = await t.run(async (ctx) => await ctx.db.query("inbox").collect());
    expect(rows.find((m) => m.seq === 0)?.deliveredAt).toBeTypeOf("number");
    expect(rows.find((m) => m.seq === 1)?.deliveredAt).toBeUndefined();
    expect((await rt.post("inbox", { afterSeq: 1 })).body.messages).toEqual([]);
    const acked = await t.run(async (ctx) => await ctx.db.query("inbox").collect());
    expect(acked.every((m) => m.deliveredAt !== undefined)).toBe(true);
  });

  test("sendMessage to a finished run is refused", async () => {
    const { t, rt, runId } = await running();
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
    const before = await count(t, "inbox");
    await expect(t.mutation(api.inbox.sendMessage, { runId, text: "too late" })).rejects.toThrow(/succeeded; messages reach only active runs/);
    expect(await count(t, "inbox")).toBe(before);
  });

  test("empty or oversized messages are refused", async () => {
    const { t, runId } = await running();
    await expect(t.mutation(api.inbox.sendMessage, { runId, text: "   " })).rejects.toThrow(/message text is empty/);
    await expect(t.mutation(api.inbox.sendMessage, { runId, text: "x".repeat(8001) })).rejects.toThrow(/8001 characters; the limit is 8000/);
    expect(await count(t, "inbox")).toBe(0);
  });
});

describe("heartbeat", () => {
  test("returns the run status and deadline", async () => {
    const { t, rt, runId } = await running();
    const run = await t.query(api.runs.getRun, { runId });
    expect(await rt.heartbeat()).toEqual({ status: 200, body: { ok: true, status: "running", deadline: run!.deadline } });
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    await rt.complete("succeeded", ["report.md"]);
    expect((await rt.heartbeat()).body.status).toBe("collecting");
  });

  test("heartbeats keep a run alive past the heartbeat timeout; silence ends it", async () => {
    const { t, rt, runId } = await running({ heartbeatTimeoutMs: 2_000, maxAttempts: 1 });
    for (let i = 0; i < 20; i++) {
      expect((await rt.heartbeat()).body.status).toBe("running");
      await advance(t, 500);
    }
    expect(await runStatus(t, runId)).toBe("running");
    await until(t, async () => (await runStatus(t, runId)) === "failed", 10_000);
    expect((await t.query(api.runs.getRun, { runId }))?.error?.code).toBe("heartbeat_timeout");
  });

  test("events keep a run from being reaped as idle", async () => {
    const { t, rt, runId } = await running({ idleTimeoutMs: 4_000 });
    for (let i = 0; i < 12; i++) {
      await rt.heartbeat();
      await rt.events([`step ${i}`]);
      await advance(t, 1_000);
      await t.mutation(api.reaper.reap, {});
    }
    expect(await runStatus(t, runId)).toBe("running");
    // Silence (heartbeats alone are not progress) is reaped.
    for (let i = 0; i < 8; i++) {
      await rt.heartbeat();
      await advance(t, 1_000);
      await t.mutation(api.reaper.reap, {});
    }
    expect(await runStatus(t, runId)).toBe("failed");
    expect((await t.query(api.runs.getRun, { runId }))?.error?.code).toBe("idle_timeout");
  });
});

describe("artifacts", () => {
  test("upload, duplicate and new version", async () => {
    const { t, rt, runId, cardId } = await running();
    const v1 = new TextEncoder().encode("# Report\n\nOtters are great swimmers.");
    const up1 = await rt.upload("out/report.md", v1);
    expect(up1.status).toBe(200);
    expect(up1.body).toMatchObject({ ok: true, version: 1, duplicate: false });
    let list = await listAll(t, api.artifacts.listArtifacts, { runId });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: "out/report.md", type: "markdown", size: v1.byteLength, sha256: await hex(v1), version: 1, superseded: false });
    expect(await storageCount(t)).toBe(1);

    const dup = await rt.upload("out/report.md", v1);
    expect(dup.body).toEqual({ ok: true, artifactId: up1.body.artifactId, version: 1, duplicate: true });
    expect(await listAll(t, api.artifacts.listArtifacts, { runId })).toHaveLength(1);
    expect(await storageCount(t)).toBe(1);

    const v2 = new TextEncoder().encode("# Report\n\nOtters are very great swimmers.");
    const up2 = await rt.upload("out/report.md", v2);
    expect(up2.body).toMatchObject({ ok: true, version: 2, duplicate: false });
    expect(up2.body.artifactId).not.toBe(up1.body.artifactId);
    list = await listAll(t, api.artifacts.listArtifacts, { runId });
    expect(list.map((a) => [a.version, a.superseded, a.sha256, a.size])).toEqual([
      [1, true, await hex(v1), v1.byteLength],
      [2, false, await hex(v2), v2.byteLength],
    ]);
    expect(await storageCount(t)).toBe(2);
    expect(await listAll(t, api.artifacts.listArtifacts, { cardId })).toHaveLength(2);
    const url = await t.query(api.artifacts.getArtifactUrl, { artifactId: up2.body.artifactId });
    expect(typeof url).toBe("string");
    expect(url!.length).toBeGreaterThan(0);
    // One artifact by id is the same as in the list (its run and card let an app check access).
    expect(await t.query(api.artifacts.getArtifact, { artifactId: up2.body.artifactId })).toEqual(list[1]);
    expect(await t.query(api.artifacts.getArtifact, { artifactId: runId })).toBeNull();
    // The stored bytes are the uploaded bytes.
    const blob = await t.run(async (ctx) => {
      const a = await ctx.db.get(up2.body.artifactId);
      return await (await ctx.storage.get((a as any).storageId))!.text();
    });
    expect(blob).toBe(new TextDecoder().decode(v2));
  });

  test("an explicit type and the sha256 header are honoured", async () => {
    const { t, rt, runId } = await running();
    const bytes = new TextEncoder().encode('{"a":1}');
    const q = new URLSearchParams({ name: "data.bin", type: "json" });
    const res = await t.fetch(`/artifacts?${q}`, {
      method: "POST",
      headers: { ...rt.headers(), "content-type": "application/json", "x-lakitu-sha256": (await hex(bytes)).toUpperCase() },
      body: bytes,
    });
    expect(res.status).toBe(200);
    const [a] = await listAll(t, api.artifacts.listArtifacts, { runId });
    expect(a).toMatchObject({ name: "data.bin", type: "json", contentType: "application/json" });
  });

  test("a sha256 mismatch is 400 and stores nothing", async () => {
    const { t, rt, runId } = await running();
    const before = await storageCount(t);
    const res = await t.fetch(`/artifacts?name=report.md`, {
      method: "POST",
      headers: { ...rt.headers(), "content-type": "text/markdown", "x-lakitu-sha256": "0".repeat(64) },
      body: new TextEncoder().encode("# Report\n\nOtters."),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ ok: false, code: "invalid_argument" });
    expect(body.message).toMatch(/sha256 mismatch/);
    expect(await storageCount(t)).toBe(before);
    expect(await listAll(t, api.artifacts.listArtifacts, { runId })).toHaveLength(0);
  });

  test("uploads after the run ended are refused", async () => {
    const { t, rt, runId } = await running();
    await t.mutation(api.runs.cancelRun, { runId });
    const before = await storageCount(t);
    expect((await rt.upload("late.md", "some late words")).status).toBe(401);
    expect(await storageCount(t)).toBe(before);
  });
});

describe("gateway routes", () => {
  test("/task, /llm and /ksa refuse a missing token, a malformed body and a wrong token", async () => {
    const { t, rt } = await running();
    const bodies: Record<string, unknown> = { task: {}, llm: { step: 0, observation: "Begin." }, ksa: { ksa: "plan", fn: "get", args: {} } };
    for (const path of ["task", "llm", "ksa"]) {
      const anon = await t.fetch(`/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(bodies[path]) });
      expect(anon.status).toBe(401);
      expect(await anon.json()).toMatchObject({ ok: false, code: "unauthorized" });
      const wrong = rt.headers({ authorization: `Bearer ${rt.token.slice(0, -4)}AAAA` });
      expect((await t.fetch(`/${path}`, { method: "POST", headers: wrong, body: JSON.stringify(bodies[path]) })).status).toBe(401);
    }
    expect((await rt.post("llm", { step: -1, observation: "x" })).status).toBe(400);
    expect((await rt.post("llm", { observation: "x" })).status).toBe(400);
    expect((await rt.post("ksa", { ksa: "plan" })).status).toBe(400);
    expect((await rt.post("task", {})).status).toBe(200);
  });
});
