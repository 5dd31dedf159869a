/**
 * Integrity of what a run leaves: bodies that are not UTF-8 are refused on every route, holes in the
 * event log become visible gap markers, uploads close at /complete, and QA checks exactly the hashes
 * the completion named.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import { advance, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";
import { GAP_SCAN_DELAY_MS, GAP_SCAN_PAGE } from "../model/gaps.js";
import { isLakituError } from "../shared/errors.js";
import { sha256Hex } from "../model/tokens.js";
import { listAll } from "../testing/listAll.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function running() {
  const { t, providerHandle } = await setup();
  const { cardId } = await makeBoard(t, { maxAttempts: 1 });
  const r = await startRunning(t, cardId, providerHandle);
  return { t, cardId, ...r };
}

const BAD_UTF8 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]); // {"a":"<invalid>"}

describe("non-UTF-8 requests", () => {
  test("every JSON route refuses a body that is not UTF-8 with 400 invalid_encoding, and stores nothing", async () => {
    const { t, rt, runId } = await running();
    for (const route of ["task", "llm", "ksa", "events", "heartbeat", "complete", "inbox", "restore"]) {
      const res = await t.fetch(`/${route}`, { method: "POST", headers: rt.headers(), body: BAD_UTF8 });
      expect(res.status, route).toBe(400);
      const body = await res.json();
      expect(body, route).toMatchObject({ ok: false, code: "invalid_encoding" });
      expect(body.message).toMatch(/not valid UTF-8/);
    }
    expect(await runStatus(t, runId)).toBe("running");
    expect(await t.run(async (ctx) => (await ctx.db.query("events").collect()).length)).toBe(0);
  });

  test("an artifact name that does not decode to UTF-8 is refused; binary bytes in the body are fine", async () => {
    const { t, rt, runId } = await running();
    const bad = await t.fetch(`/artifacts?name=report%FF.md`, { method: "POST", headers: { ...rt.headers(), "content-type": "application/octet-stream" }, body: "words" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, code: "invalid_encoding" });
    const png = await rt.upload("image.bin", new Uint8Array([0x89, 0x50, 0xff, 0xfe, 0x00, 0x01]));
    expect(png.status).toBe(200);
    expect(await listAll(t, api.artifacts.listArtifacts, { runId })).toHaveLength(1);
  });
});

async function gaps(t: T, runId: string) {
  const events = await listAll(t, api.events.listEvents, { runId });
  return events.filter((e) => e.kind === "gap").map((e) => ({ seq: e.seq, data: e.data, text: e.text }));
}

describe("gap markers", () => {
  test("holes in the runtime's seqs get a gap event each once the run completes, shown by listEvents", async () => {
    const { t, rt, runId } = await running();
    const ev = (seq: number) => ({ seq, kind: "log", text: `event ${seq}` });
    expect((await rt.post("events", { events: [ev(0), ev(1), ev(5), ev(6), ev(9)] })).body.stored).toBe(5);
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    expect((await rt.post("complete", { status: "succeeded", manifest: [{ name: "report.md" }], eventCount: 12 })).body.accepted).toBe(true);
    await advance(t, GAP_SCAN_DELAY_MS + 1_000);
    expect(await gaps(t, runId)).toEqual([
      { seq: 2, data: { from: 2, to: 4, reason: "never received by the component", by: "component" }, text: "events 2..4 were lost: never received by the component" },
      { seq: 7, data: { from: 7, to: 8, reason: "never received by the component", by: "component" }, text: "events 7..8 were lost: never received by the component" },
      { seq: 10, data: { from: 10, to: 11, reason: "sent by the runtime but never received", by: "component" }, text: "events 10..11 were lost: sent by the runtime but never received" },
    ]);
    // In seq order the reader sees: 0 1 gap(2..4) 5 6 gap(7..8) 9 gap(10..11).
    const events = await listAll(t, api.events.listEvents, { runId });
    expect(events.filter((e) => e.seq < 1e9).map((e) => `${e.kind}${e.seq}`)).toEqual(["log0", "log1", "gap2", "log5", "log6", "gap7", "log9", "gap10"]);
  });

  test("a complete log gets no marker", async () => {
    const { t, rt, runId } = await running();
    await rt.events(["a", "b", "c"]);
    await rt.post("complete", { status: "failed", error: "no", manifest: [], eventCount: 3 });
    await advance(t, GAP_SCAN_DELAY_MS + 1_000);
    expect(await gaps(t, runId)).toEqual([]);
  });

  test("the scan pages through a long log and still finds a hole past the first page", async () => {
    const { t, rt, runId } = await running();
    const seqs = Array.from({ length: GAP_SCAN_PAGE + 50 }, (_, i) => i).filter((s) => s !== GAP_SCAN_PAGE + 10);
    for (let i = 0; i < seqs.length; i += 100) {
      await rt.post("events", { events: seqs.slice(i, i + 100).map((seq) => ({ seq, kind: "log" })) });
    }
    await rt.post("complete", { status: "failed", error: "no", manifest: [] });
    await advance(t, GAP_SCAN_DELAY_MS + 1_000);
    expect((await gaps(t, runId)).map((g) => g.data)).toEqual([{ from: GAP_SCAN_PAGE + 10, to: GAP_SCAN_PAGE + 10, reason: "never received by the component", by: "component" }]);
  });

  test("a gap marker the runtime sends for a batch it gave up on is stored and shown as is", async () => {
    const { t, rt, runId } = await running();
    await rt.post("events", { events: [{ seq: 0, kind: "log" }, { seq: 1, kind: "gap", level: "warn", text: "events 1..3 were lost: refused", data: { from: 1, to: 3, reason: "refused" } }, { seq: 4, kind: "log" }] });
    await rt.post("complete", { status: "failed", error: "no", manifest: [], eventCount: 5 });
    await advance(t, GAP_SCAN_DELAY_MS + 1_000);
    // 2 and 3 are covered by the runtime's marker at 1: no second marker for them.
    expect(await gaps(t, runId)).toEqual([{ seq: 1, data: { from: 1, to: 3, reason: "refused" }, text: "events 1..3 were lost: refused" }]);
  });
});

describe("uploads close at /complete; QA checks the hashes the completion named", () => {
  test("an upload after /complete is refused with 409 uploads_closed; a retry of bytes already recorded is acknowledged", async () => {
    const { t, rt, runId } = await running();
    const report = "# Report\n\nOtters are great swimmers.";
    expect((await rt.upload("report.md", report)).status).toBe(200);
    expect((await rt.complete("succeeded", ["report.md"])).body.accepted).toBe(true);
    const late = await rt.upload("report.md", "# Report\n\nA swapped report written after completion.");
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ ok: false, code: "uploads_closed" });
    expect(late.body.message).toMatch(/uploads are closed/);
    const other = await rt.upload("extra.md", "more words here");
    expect(other.body.code).toBe("uploads_closed");
    const retry = await rt.upload("report.md", report);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ duplicate: true, version: 1 });
    expect(await listAll(t, api.artifacts.listArtifacts, { runId })).toHaveLength(1);
    await until(t, async () => (await runStatus(t, runId)) === "succeeded");
  });

  test("an upload whose bytes were being stored when /complete landed is refused at record time", async () => {
    const { t, rt } = await running();
    await rt.complete("failed");
    const storageId = await t.run(async (ctx) => await ctx.storage.store(new Blob(["late"])));
    const e = await t
      .mutation(internal.runtime.recordArtifact, {
        token: rt.token,
        generation: Number(rt.sandbox.envs.LAKITU_GENERATION),
        name: "late.md",
        type: "markdown",
        contentType: "text/markdown",
        size: 4,
        sha256: await sha256Hex("late"),
        storageId,
      })
      .catch((x: unknown) => x);
    expect(isLakituError(e, "uploads_closed")).toBe(true);
  });

  test("QA checks the version the manifest names, not a later upload of the same name (passing case)", async () => {
    const { t, rt, runId } = await running();
    const good = "# Report\n\nOtters are great swimmers.";
    await rt.upload("report.md", good);
    await rt.upload("report.md", "x"); // a later version that would fail minWords
    const r = await rt.post("complete", { status: "succeeded", manifest: [{ name: "report.md", sha256: await sha256Hex(good) }] });
    expect(r.body.accepted).toBe(true);
    await until(t, async () => ["succeeded", "failed"].includes((await runStatus(t, runId)) ?? ""));
    expect(await runStatus(t, runId)).toBe("succeeded");
  });

  test("QA checks the version the manifest names, not a later upload of the same name (failing case)", async () => {
    const { t, rt, runId } = await running();
    const bad = "x";
    await rt.upload("report.md", bad);
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    await rt.post("complete", { status: "succeeded", manifest: [{ name: "report.md", sha256: await sha256Hex(bad) }] });
    await until(t, async () => ["succeeded", "failed"].includes((await runStatus(t, runId)) ?? ""));
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.status).toBe("failed");
    expect(run?.qa?.ok).toBe(false);
  });

  test("a manifest entry naming a hash that was never uploaded leaves that deliverable missing", async () => {
    const { t, rt, runId } = await running();
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    await rt.post("complete", { status: "succeeded", manifest: [{ name: "report.md", sha256: "0".repeat(64) }] });
    await until(t, async () => ["succeeded", "failed"].includes((await runStatus(t, runId)) ?? ""));
    const run = await t.query(api.runs.getRun, { runId });
    expect(run?.status).toBe("failed");
    expect(JSON.stringify(run?.qa)).toMatch(/report\.md/);
  });
});

describe("per-run artifact quota", () => {
  test("uploads past maxRunArtifacts or maxRunArtifactBytes are refused with 413 quota_exceeded; duplicates do not count", async () => {
    const { t, rt, runId } = await running();
    await t.mutation(api.config.configure, { maxRunArtifacts: 2, maxRunArtifactBytes: 10 });
    expect((await rt.upload("a.md", "aaaa")).status).toBe(200);
    // The same bytes again are a duplicate: acknowledged, nothing stored, nothing counted.
    expect((await rt.upload("a.md", "aaaa")).body).toMatchObject({ duplicate: true });
    const big = await rt.upload("b.md", "bbbbbbbbb");
    expect(big).toMatchObject({ status: 413, body: { code: "quota_exceeded", message: expect.stringContaining("quota of 10 bytes per run") } });
    expect((await rt.upload("b.md", "bb")).status).toBe(200);
    const third = await rt.upload("c.md", "c");
    expect(third).toMatchObject({ status: 413, body: { code: "quota_exceeded", message: expect.stringContaining("the quota is 2 per run") } });
    const stored = await t.run(async (ctx) => (await ctx.db.query("artifacts").collect()).filter((a) => a.runId === runId).map((a) => a.name));
    expect(stored.sort()).toEqual(["a.md", "b.md"]);
    // Nothing refused was left in file storage.
    expect(await t.run(async (ctx) => (await ctx.db.system.query("_storage").collect()).length)).toBe(2);
  });

  test("the quota settings are validated", async () => {
    const { t } = await running();
    const e = await t.mutation(api.config.configure, { maxRunArtifacts: 0 }).catch((x: unknown) => x);
    expect(isLakituError(e, "invalid_argument")).toBe(true);
    expect(String((e as { data: { message: string } }).data.message)).toContain("maxRunArtifacts");
  });
});
