/** Retention of events and superseded artifact versions, per-run quotas, and workflow journal cleanup. */
import { createHash } from "node:crypto";
import { makeFunctionReference } from "convex/server";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import crons from "./crons.js";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { WORKFLOW_CLEANUP_DELAY_MS } from "../shared/defaults.js";
import { isLakituError } from "../shared/errors.js";
import { advance, makeBoard, setup, type T } from "../testing/harness.js";
import { startRunning, workflowStatus } from "../testing/runHelpers.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const DAY = 24 * 3_600_000;

async function rows(t: T, runId: string) {
  return await t.run(async (ctx) => ({
    events: (await ctx.db.query("events").withIndex("by_run_seq", (q) => q.eq("runId", runId as Id<"runs">)).collect()).map((e) => e.text ?? e.kind),
    artifacts: (await ctx.db.query("artifacts").withIndex("by_run_name", (q) => q.eq("runId", runId as Id<"runs">)).collect()).map((a) => ({
      version: a.version,
      superseded: a.superseded,
      storageId: a.storageId,
    })),
  }));
}

async function blobExists(t: T, storageId: string) {
  return await t.run(async (ctx) => (await ctx.db.system.get(storageId as Id<"_storage">)) !== null);
}

describe("retention", () => {
  test("configure validates retention, naming the field and the allowed range", async () => {
    const { t } = await setup();
    for (const [retention, field] of [
      [{ eventsDays: 0 }, "retention.eventsDays"],
      [{ supersededArtifactsDays: 1.5 }, "retention.supersededArtifactsDays"],
    ] as const) {
      try {
        await t.mutation(api.config.configure, { retention });
        throw new Error("accepted");
      } catch (e) {
        expect(isLakituError(e, "invalid_argument")).toBe(true);
        expect((e as { data: { message: string } }).data.message).toMatch(new RegExp(`^${field.replace(".", "\\.")} must be an integer between 1 and 3650`));
      }
    }
    expect((await t.query(api.config.getConfig, {})).retention).toEqual({});
  });

  test("the hourly cron removes only events and superseded versions older than the configured days", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.events(["old 1", "old 2"]);
    await rt.upload("report.md", "# v1\n\nfirst words here");
    await rt.upload("report.md", "# v2\n\nsecond words here");
    await rt.upload("notes.md", "# notes\n\nonly version");
    const before = await rows(t, runId);
    const old = before.artifacts.find((a) => a.superseded)!;
    expect(before.artifacts.filter((a) => a.superseded)).toHaveLength(1);

    // Without retention configured nothing is ever removed.
    vi.setSystemTime(Date.now() + 3 * DAY);
    await t.mutation(internal.lifecycle.applyRetention, {});
    expect((await rows(t, runId)).events).toEqual(expect.arrayContaining(["old 1", "old 2"]));

    await t.mutation(api.config.configure, { retention: { eventsDays: 2, supersededArtifactsDays: 2 } });
    await rt.heartbeat();
    await rt.events(["new"]);
    const job = crons.crons["lakitu retention"];
    expect(job).toMatchObject({ schedule: { type: "interval", hours: 1 }, args: [{}] });
    const r = await t.mutation(makeFunctionReference<"mutation">(job.name), {});
    expect(r).toMatchObject({ artifacts: 1, more: false });
    expect(r.events).toBeGreaterThanOrEqual(2);
    const after = await rows(t, runId);
    expect(after.events).not.toContain("old 1");
    expect(after.events).not.toContain("old 2");
    expect(after.events).toContain("new");
    // The current version of each name stays, however old; the superseded one and its bytes are gone.
    expect(after.artifacts.map((a) => a.version).sort()).toEqual([1, 2]);
    expect(after.artifacts.every((a) => !a.superseded)).toBe(true);
    expect(await blobExists(t, old.storageId)).toBe(false);
    for (const a of after.artifacts) expect(await blobExists(t, a.storageId)).toBe(true);
  });
});

describe("per-run quotas", () => {
  test("events past maxRunEvents: 413 quota_exceeded, nothing of the batch stored, and one quota event", async () => {
    const { t, providerHandle } = await setup();
    await t.mutation(api.config.configure, { maxRunEvents: 3 });
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    expect((await rt.events(["a", "b"])).status).toBe(200);
    const over = await rt.events(["c", "d"]);
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ code: "quota_exceeded" });
    expect(JSON.stringify(over.body)).toMatch(/stored 2 events; 2 more would pass the quota of 3 events per run \(configure maxRunEvents\)/);
    expect((await rt.events(["e"])).status).toBe(413);
    const { events } = await rows(t, runId);
    expect(events.filter((e) => ["a", "b", "c", "d", "e"].includes(e))).toEqual(["a", "b"]);
    const quotaEvents = await t.run(async (ctx) =>
      (await ctx.db.query("events").withIndex("by_run_seq", (q) => q.eq("runId", runId as Id<"runs">)).collect()).filter((e) => e.kind === "quota_exceeded"),
    );
    expect(quotaEvents).toHaveLength(1);
    expect(quotaEvents[0].level).toBe("error");
  });

  test("versions of one name past maxArtifactVersionsPerName: 413 quota_exceeded naming the file", async () => {
    const { t, providerHandle } = await setup();
    await t.mutation(api.config.configure, { maxArtifactVersionsPerName: 2 });
    const { cardId } = await makeBoard(t);
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    expect((await rt.upload("report.md", "# one\n\nwords words words")).status).toBe(200);
    expect((await rt.upload("report.md", "# two\n\nwords words words")).status).toBe(200);
    const third = await rt.upload("report.md", "# three\n\nwords words words");
    expect(third.status).toBe(413);
    expect(JSON.stringify(third.body)).toMatch(/already stored 2 versions of \\"report.md\\"; the quota is 2 versions per name/);
    // The upload-URL path (commit) says the same, deletes the refused file and logs a quota event.
    const text = "# four\n\nwords words words";
    const storageId = await t.run(async (ctx) => await ctx.storage.store(new Blob([text])));
    const sha256 = createHash("sha256").update(text).digest("hex");
    const commit = await rt.post("commit", { name: "report.md", storageId, sha256, size: new TextEncoder().encode(text).length });
    expect(commit.status).toBe(413);
    expect(commit.body).toMatchObject({ code: "quota_exceeded" });
    expect(await blobExists(t, storageId)).toBe(false);
    const logged = await t.run(async (ctx) =>
      (await ctx.db.query("events").withIndex("by_run_seq", (q) => q.eq("runId", runId as Id<"runs">)).collect()).filter((e) => e.kind === "quota_exceeded"),
    );
    // One per refused upload (the third through /artifacts, the fourth through /commit).
    const quotaText = expect.stringMatching(/already stored 2 versions of "report.md"; the quota is 2 versions per name/);
    expect(logged.map((e) => e.text)).toEqual([quotaText, quotaText]);
    // Another name is unaffected.
    expect((await rt.upload("notes.md", "# notes\n\nwords words")).status).toBe(200);
    expect((await rows(t, runId)).artifacts).toHaveLength(3);
  });
});

describe("workflow journal cleanup", () => {
  test("a finished card-run workflow schedules its own cleanup, which removes the journal", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    const { workflowId } = await startRunning(t, cardId, providerHandle);
    await t.mutation(api.runs.stopCard, { cardId });
    await advance(t, 2_000);
    expect((await workflowStatus(t, workflowId)).type).toBe("completed");
    const scheduled = await t.run(async (ctx) =>
      (await ctx.db.system.query("_scheduled_functions").collect()).filter((f) => f.name.includes("cleanupWorkflow") && f.state.kind === "pending"),
    );
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0].args[0]).toEqual({ workflowId });
    expect(scheduled[0].scheduledTime - Date.now()).toBeGreaterThan(WORKFLOW_CLEANUP_DELAY_MS - 10_000);
    expect(await t.mutation(internal.lifecycle.cleanupWorkflow, { workflowId: workflowId as never })).toBe(true);
    await advance(t, 1_000);
    await expect(workflowStatus(t, workflowId)).rejects.toThrow(/not found/i);
  });
});
