/**
 * Artifacts at production sizes: uploads through storage upload URLs (checked against the storage
 * metadata, refused blobs deleted), uploads above Convex's 16 MiB argument limit through the
 * component's own route, and the latest version of a name found through an index past 500 versions.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { CALLBACK_URL, SimRuntime, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import type { TestProvider } from "../testkit/provider.js";
import { listAll } from "../testing/listAll.js";
import { MAX_ROUTE_UPLOAD_BYTES } from "../shared/uploadLimits.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function running(config: Record<string, number> = {}) {
  const { t, providerHandle, provider } = await setup();
  if (Object.keys(config).length) await t.mutation(api.config.configure, config);
  const board = await makeBoard(t);
  const { runId } = await t.mutation(api.runs.runCard, { cardId: board.cardId, providerHandle, callbackUrl: CALLBACK_URL });
  await until(t, async () => (await runStatus(t, runId)) === "running");
  const rt = new SimRuntime(t, sandboxOf(provider, runId));
  return { t, rt, runId, ...board };
}

function sandboxOf(provider: TestProvider, runId: string) {
  const s = [...provider.sandboxes.values()].find((x) => x.envs.LAKITU_RUN_ID === runId);
  if (!s) throw new Error(`no sandbox for run ${runId}`);
  return s;
}

async function hex(bytes: Uint8Array) {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What POSTing to an upload URL does: the bytes land in the component's storage. */
async function putInStorage(t: T, bytes: Uint8Array, type = "text/markdown"): Promise<Id<"_storage">> {
  return await t.run(async (ctx) => await ctx.storage.store(new Blob([bytes as BlobPart], { type })));
}
async function stored(t: T, storageId: string) {
  return await t.run(async (ctx) => await ctx.db.system.get(storageId as Id<"_storage">));
}

describe("uploads through a storage upload URL", () => {
  test("upload-url checks first, commit records what storage holds; a retried commit answers the same artifact", async () => {
    const { t, rt, runId } = await running();
    const bytes = new TextEncoder().encode("# Report\n\nOtters are mustelids.");
    const sha256 = await hex(bytes);
    const begun = await rt.post("upload-url", { name: "report.md", size: bytes.length, sha256, type: "markdown" });
    expect(begun.status).toBe(200);
    expect(begun.body).toMatchObject({ ok: true, uploadUrl: expect.stringContaining("/api/storage/upload") });

    const storageId = await putInStorage(t, bytes);
    const commit = { name: "report.md", storageId, sha256, size: bytes.length, type: "markdown" };
    const first = await rt.post("commit", commit);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ok: true, version: 1, duplicate: false });
    const again = await rt.post("commit", commit);
    expect(again.body).toMatchObject({ ok: true, artifactId: (first.body as any).artifactId, version: 1 });
    const arts = await listAll(t, api.artifacts.listArtifacts, { runId });
    expect(arts).toHaveLength(1);
    expect(arts[0]).toMatchObject({ name: "report.md", size: bytes.length, sha256 });

    // The same bytes again: upload-url says so and nothing needs sending.
    const dup = await rt.post("upload-url", { name: "report.md", size: bytes.length, sha256 });
    expect(dup.body).toMatchObject({ ok: true, existing: { version: 1 } });
  });

  test("a commit whose sha256 does not match the stored bytes is refused and the blob is deleted", async () => {
    const { t, rt, runId } = await running();
    const bytes = new TextEncoder().encode("# Report\n\nOtters.");
    const storageId = await putInStorage(t, bytes);
    expect(await stored(t, storageId)).not.toBeNull();
    const res = await rt.post("commit", { name: "report.md", storageId, sha256: "ab".repeat(32), size: bytes.length });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ ok: false, code: "invalid_argument" });
    expect((res.body as any).message).toMatch(/sha256 mismatch for "report\.md".*stored file was deleted/);
    expect(await stored(t, storageId)).toBeNull();
    expect(await listAll(t, api.artifacts.listArtifacts, { runId })).toHaveLength(0);
  });

  test("a commit whose size does not match is refused and the blob is deleted", async () => {
    const { t, rt } = await running();
    const bytes = new TextEncoder().encode("# Report\n\nOtters.");
    const storageId = await putInStorage(t, bytes);
    const res = await rt.post("commit", { name: "report.md", storageId, sha256: await hex(bytes), size: bytes.length + 1 });
    expect(res.status).toBe(400);
    expect((res.body as any).message).toMatch(/size mismatch.*declared \d+ bytes, storage holds \d+/);
    expect(await stored(t, storageId)).toBeNull();
  });

  test("a commit over maxArtifactBytes is 413 and the blob is deleted (the size comes from storage, not the caller)", async () => {
    const { t, rt } = await running({ maxArtifactBytes: 10 });
    const bytes = new TextEncoder().encode("more than ten bytes");
    expect((await rt.post("upload-url", { name: "a.txt", size: bytes.length, sha256: await hex(bytes) })).status).toBe(413);
    const storageId = await putInStorage(t, bytes);
    const res = await rt.post("commit", { name: "a.txt", storageId, sha256: await hex(bytes), size: bytes.length });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ ok: false, code: "too_large" });
    expect(await stored(t, storageId)).toBeNull();
  });

  test("bad bodies name the field: a sha256 that is not hex, a storage id that is not one", async () => {
    const { rt } = await running();
    const r1 = await rt.post("upload-url", { name: "a.txt", size: 3, sha256: "nothex" });
    expect(r1.status).toBe(400);
    expect((r1.body as any).message).toMatch(/sha256: must be the file's SHA-256 as 64 hex digits/);
    const r2 = await rt.post("commit", { name: "a.txt", storageId: "nope", sha256: "a".repeat(64), size: 3 });
    expect(r2.status).toBe(400);
    expect((r2.body as any).message).toMatch(/storageId "nope" is not a storage id/);
  });
});

describe("uploads through the component's own route", () => {
  test("a 20 MiB file (over the old 16 MiB argument limit) is stored; one byte more is 413 with the limit named", async () => {
    const { t, rt, runId } = await running({ maxArtifactBytes: 64 * 1024 * 1024 });
    const big = new Uint8Array(MAX_ROUTE_UPLOAD_BYTES).fill(0x61);
    const res = await t.fetch(`/artifacts?name=data.bin&type=file`, {
      method: "POST",
      headers: { ...rt.headers(), "content-type": "application/octet-stream", "x-lakitu-sha256": await hex(big) },
      body: big,
    });
    expect(res.status).toBe(200);
    const [a] = await listAll(t, api.artifacts.listArtifacts, { runId });
    expect(a).toMatchObject({ name: "data.bin", size: MAX_ROUTE_UPLOAD_BYTES, sha256: await hex(big) });

    const over = await t.fetch(`/artifacts?name=more.bin`, {
      method: "POST",
      headers: { ...rt.headers(), "content-type": "application/octet-stream" },
      body: new Uint8Array(MAX_ROUTE_UPLOAD_BYTES + 1),
    });
    expect(over.status).toBe(413);
    expect(((await over.json()) as any).message).toMatch(/20971520.*upload-url/);
  });
});

describe("the latest version of a name", () => {
  test("with 600 versions of report.md, completion pins the latest and QA finds and checks it", async () => {
    const { t, rt, runId } = await running({ maxArtifactVersionsPerName: 1_000, maxRunArtifacts: 1_000 });
    const run = (await t.query(api.runs.getRun, { runId }))!;
    // 599 old versions written directly (the per-name quota would stop the runtime sooner), then the last upload.
    await t.run(async (ctx) => {
      const r = (await ctx.db.get(runId as Id<"runs">))!;
      for (let version = 1; version < 600; version++) {
        const storageId = await ctx.storage.store(new Blob([`# v${version}`]));
        await ctx.db.insert("artifacts", {
          runId: r._id, cardId: r.cardId, stageId: r.stageId, name: "report.md", type: "markdown", contentType: "text/markdown",
          size: 4, sha256: `${version}`.padStart(64, "0"), storageId, version, superseded: true, review: "pending",
        });
      }
    });
    expect(run.status).toBe("running");
    expect((await rt.upload("report.md", "# Report\n\nOtters hold hands while sleeping.")).status).toBe(200);
    expect((await rt.complete("succeeded", [])).status).toBe(200);
    await until(t, async () => ["succeeded", "failed"].includes((await runStatus(t, runId)) ?? ""));
    const done = (await t.query(api.runs.getRun, { runId }))!;
    expect(done.status).toBe("succeeded");
    expect(done.qa?.produced).toEqual(["report.md"]);
    expect(done.qa?.checks.find((c) => c.check === "min_words")).toMatchObject({ ok: true });
  });
});
