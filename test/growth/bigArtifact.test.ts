/**
 * Growth at realistic sizes, under the limits harness: a 100 MiB artifact. Its bytes go straight to
 * storage (what POSTing to the upload URL does), then the runtime commits them through the real
 * `upload-url` and `commit` routes; completion and QA follow. QA must judge it from the stored size
 * and read at most a bounded prefix (convex/model/qaRead.ts): a V8 action has 64 MiB.
 *
 * One 100 MiB blob for the whole file, built from a repeated 1 MiB chunk; convex-test keeps a stored
 * blob by reference, so the same object is stored in each test's deployment without a copy.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import type { Id } from "../../convex/component/_generated/dataModel.js";
import { QA_MAX_BINARY_BYTES, readBlobHead } from "../../convex/model/qaRead.js";
import { runStatus, setup, until, type T } from "../../convex/testing/harness.js";
import { listAll } from "../../convex/testing/listAll.js";
import { startRunning } from "../../convex/testing/runHelpers.js";

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A 100 MiB PDF-shaped blob (header, filler, %%EOF trailer), its SHA-256, and a count of the bytes read from it. */
const big = (() => {
  const head = new TextEncoder().encode("%PDF-1.7\n");
  const tail = new TextEncoder().encode("\n%%EOF\n");
  const chunk = new Uint8Array(MiB).fill(0x20);
  const filler = chunk.subarray(0, MiB - head.length - tail.length);
  const parts: Uint8Array[] = [head, filler, ...Array.from({ length: 98 }, () => chunk), chunk, tail];
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  const blob = new Blob(parts as BlobPart[], { type: "application/pdf" });
  const read = { bytes: 0 };
  meter(blob, read);
  return { blob, sha256: hash.digest("hex"), read };
})();

/** Counts on `read.bytes` every byte handed out by the blob's readers (whole reads, streams, slices). */
function meter(blob: Blob, read: { bytes: number }): void {
  const proto = Blob.prototype;
  Object.defineProperties(blob, {
    arrayBuffer: { value: async () => ((read.bytes += blob.size), await proto.arrayBuffer.call(blob)) },
    text: { value: async () => ((read.bytes += blob.size), await proto.text.call(blob)) },
    bytes: { value: async () => ((read.bytes += blob.size), new Uint8Array(await proto.arrayBuffer.call(blob))) },
    slice: {
      value: (...a: Parameters<Blob["slice"]>) => {
        const part = proto.slice.apply(blob, a);
        meter(part, read);
        return part;
      },
    },
    stream: {
      value: () =>
        proto.stream.call(blob).pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(c, out) {
              read.bytes += c.length;
              out.enqueue(c);
            },
          }),
        ),
    },
  });
}

async function running(deliverable: { name: string; type: "file" | "pdf"; checks?: { minBytes?: number; minPages?: number } }) {
  const { t, providerHandle, limits } = await setup();
  await t.mutation(api.config.configure, { maxArtifactBytes: 128 * MiB, maxRunArtifactBytes: 256 * MiB });
  const { boardId } = await t.mutation(api.boards.createBoard, {
    name: "Data",
    stages: [
      { name: "Collect", kind: "agent", goals: ["Collect the data set"], deliverables: [deliverable], limits: { maxAttempts: 1, maxDurationMs: 3_600_000 } },
      { name: "Done", kind: "done" },
    ],
  });
  const cardId = await t.mutation(api.cards.addCard, { boardId, title: "A big data set" });
  const { runId, rt } = await startRunning(t, cardId, providerHandle);
  return { t, limits, runId, rt };
}

/** The upload protocol of a big file: upload-url, the bytes into storage, then commit. */
async function commitBig(t: T, rt: Awaited<ReturnType<typeof running>>["rt"], name: string, type: string) {
  const begun = await rt.post("upload-url", { name, size: SIZE, sha256: big.sha256, type });
  expect(begun.status).toBe(200);
  expect(begun.body).toMatchObject({ ok: true, uploadUrl: expect.stringContaining("/api/storage/upload") });
  const storageId = await t.run(async (ctx) => await ctx.storage.store(big.blob));
  const meta = await t.run(async (ctx) => await ctx.db.system.get(storageId as Id<"_storage">));
  expect(meta?.size).toBe(SIZE);
  const committed = await rt.post("commit", { name, storageId, sha256: big.sha256, size: SIZE, type });
  expect(committed.status).toBe(200);
  expect(committed.body).toMatchObject({ ok: true, version: 1, duplicate: false });
}

async function finish(t: T, runId: string) {
  await until(t, async () => ["succeeded", "failed", "blocked"].includes((await runStatus(t, runId)) ?? ""));
  return (await t.query(api.runs.getRun, { runId }))!;
}

test("a 100 MiB file deliverable: committed through the routes, QA passes minBytes from the stored size without reading it", async () => {
  const { t, limits, runId, rt } = await running({ name: "data.bin", type: "file", checks: { minBytes: SIZE } });
  await commitBig(t, rt, "data.bin", "file");
  const [artifact] = await listAll(t, api.artifacts.listArtifacts, { runId });
  expect(artifact).toMatchObject({ name: "data.bin", size: SIZE, sha256: big.sha256 });

  big.read.bytes = 0;
  expect((await rt.complete("succeeded", ["data.bin"])).status).toBe(200);
  const run = await finish(t, runId);
  expect(run.status).toBe("succeeded");
  expect(run.qa?.ok).toBe(true);
  expect(run.qa?.checks.find((c) => c.check === "min_bytes")).toMatchObject({ ok: true });
  expect(run.qa?.checks.find((c) => c.check === "type")).toMatchObject({ ok: true, reason: expect.stringContaining("content not read") });
  // QA never touched the bytes: the size came from storage's metadata.
  expect(big.read.bytes).toBe(0);
  expect(limits.violations).toEqual([]);
});

test("a 100 MiB pdf deliverable: QA sniffs its type from its first and last KiB, reading almost nothing", async () => {
  const { t, limits, runId, rt } = await running({ name: "scan.pdf", type: "pdf" });
  await commitBig(t, rt, "scan.pdf", "pdf");

  big.read.bytes = 0;
  expect((await rt.complete("succeeded", ["scan.pdf"])).status).toBe(200);
  const run = await finish(t, runId);
  // The header and %%EOF are what a type check needs; the 100 MiB in between are never read.
  expect(big.read.bytes).toBeLessThanOrEqual(2 * MiB);
  const type = run.qa?.checks.find((c) => c.check === "type");
  expect(type).toMatchObject({ ok: true });
  expect(type?.reason).toBe(`PDF header and %%EOF marker found (sniffed from its first and last 1024 bytes of ${SIZE} bytes)`);
  expect(run.status).toBe("succeeded");
  expect(limits.violations).toEqual([]);
});

test("a 100 MiB pdf deliverable with minPages: pages need the whole file, so QA says why it cannot check it, reading at most its cap", async () => {
  const { t, limits, runId, rt } = await running({ name: "scan.pdf", type: "pdf", checks: { minPages: 1 } });
  await commitBig(t, rt, "scan.pdf", "pdf");

  big.read.bytes = 0;
  expect((await rt.complete("succeeded", ["scan.pdf"])).status).toBe(200);
  const run = await finish(t, runId);
  expect(big.read.bytes).toBeLessThanOrEqual(QA_MAX_BINARY_BYTES);
  const type = run.qa?.checks.find((c) => c.check === "type");
  expect(type).toMatchObject({ ok: false });
  expect(type?.reason).toContain(`${SIZE} bytes`);
  expect(type?.reason).toContain(`(pdf with minPages) whole, at most ${QA_MAX_BINARY_BYTES} bytes`);
  expect(run.status).not.toBe("succeeded");
  expect(limits.violations).toEqual([]);
});

test("the meter sees what a reader takes: a prefix read counts its bytes, a whole read counts all", async () => {
  big.read.bytes = 0;
  const head = await readBlobHead(big.blob, MiB);
  expect(new TextDecoder().decode(head.subarray(0, 5))).toBe("%PDF-");
  expect(big.read.bytes).toBeGreaterThanOrEqual(MiB);
  expect(big.read.bytes).toBeLessThan(SIZE);
  big.read.bytes = 0;
  expect((await big.blob.arrayBuffer()).byteLength).toBe(SIZE);
  expect(big.read.bytes).toBe(SIZE);
});
