import { describe, expect, test } from "vitest";
import type { Id } from "../component/_generated/dataModel.js";
import type { Deliverable } from "../shared/validators.js";
import { IMAGE_SNIFF_BYTES, QA_MAX_BINARY_BYTES, QA_MAX_TEXT_BYTES, checkStoredDeliverables, readBlobHead, type ReadHead, type StoredArtifact } from "./qaRead.js";

const MiB = 1024 * 1024;
const sid = (name: string) => `storage_${name}` as Id<"_storage">;

/** A `size`-byte PDF with `pages` page objects, written into `into` (reused: see the counting reader). */
function pdfInto(into: Uint8Array, size: number, pages: number): Uint8Array {
  const head = new TextEncoder().encode(`%PDF-1.4\n${"1 0 obj << /Type /Page >> endobj\n".repeat(pages)}`);
  const tail = new TextEncoder().encode("\n%%EOF\n");
  const out = into.subarray(0, size);
  out.fill(0x20);
  out.set(head, 0);
  out.set(tail, size - tail.length);
  return out;
}

/**
 * Storage that counts: reads in flight at once, what each read asked for, and which files were read.
 * Every read returns the SAME buffer, overwritten: a QA that kept one deliverable's bytes while
 * loading the next would check the wrong content.
 */
function countingStorage(files: Map<string, { size: number; pages: number }>) {
  const shared = new Uint8Array(10 * MiB);
  const stats = { inFlight: 0, maxInFlight: 0, reads: [] as Array<{ id: string; maxBytes: number; returned: number }> };
  const read: ReadHead = async (storageId, maxBytes) => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    const f = files.get(storageId)!;
    const bytes = pdfInto(shared, Math.min(f.size, maxBytes), f.pages);
    stats.reads.push({ id: storageId, maxBytes, returned: bytes.length });
    stats.inFlight--;
    return bytes;
  };
  return { read, stats };
}

describe("QA reads deliverables one at a time, each within a cap", () => {
  test("seven 10 MiB PDF deliverables: one read at a time, at most one deliverable's bytes, other artifacts never read", async () => {
    const names = Array.from({ length: 7 }, (_, i) => `doc${i}.pdf`);
    const files = new Map<string, { size: number; pages: number }>();
    // doc3 has one page; the others two. minPages 2 must fail exactly doc3.
    names.forEach((n, i) => files.set(sid(n), { size: 10 * MiB, pages: i === 3 ? 1 : 2 }));
    files.set(sid("scratch.bin"), { size: 10 * MiB, pages: 0 });
    const artifacts: StoredArtifact[] = [...names, "scratch.bin"].map((n) => ({ name: n, type: "pdf", size: 10 * MiB, storageId: sid(n) }));
    const deliverables: Deliverable[] = names.map((n) => ({ name: n, type: "pdf", checks: { minPages: 2 } }));
    const { read, stats } = countingStorage(files);

    const report = await checkStoredDeliverables(deliverables, artifacts, read);

    expect(stats.maxInFlight).toBe(1);
    expect(stats.reads.map((r) => r.id)).toEqual(names.map(sid));
    expect(stats.reads.every((r) => r.maxBytes <= QA_MAX_BINARY_BYTES && r.returned === 10 * MiB)).toBe(true);
    expect(report.failed).toEqual(["doc3.pdf"]);
    expect(report.produced).toEqual([...names, "scratch.bin"].sort());
    expect(report.summary).toMatch(/^6\/7 deliverables passed; failed: doc3\.pdf/);
  });

  test("a text deliverable over 2 MiB fails its type check saying why, without being read; a big `file` passes on its stored size", async () => {
    const artifacts: StoredArtifact[] = [
      { name: "report.md", type: "markdown", size: 3 * MiB, storageId: sid("report.md") },
      { name: "dataset.bin", type: "file", size: 500 * MiB, storageId: sid("dataset.bin") },
    ];
    const deliverables: Deliverable[] = [
      { name: "report.md", type: "markdown" },
      { name: "dataset.bin", type: "file", checks: { minBytes: 100 * MiB } },
    ];
    const reads: string[] = [];
    const report = await checkStoredDeliverables(deliverables, artifacts, async (id) => {
      reads.push(id);
      return new Uint8Array(0);
    });
    expect(reads).toEqual([]);
    const type = report.checks.find((c) => c.deliverable === "report.md" && c.check === "type")!;
    expect(type.ok).toBe(false);
    expect(type.reason).toContain(`report.md is ${3 * MiB} bytes; QA reads text deliverables (markdown) whole, at most ${QA_MAX_TEXT_BYTES} bytes`);
    expect(type.reason).toContain('declare the deliverable as type "file"');
    expect(report.checks.filter((c) => c.deliverable === "dataset.bin").every((c) => c.ok)).toBe(true);
    expect(report.failed).toEqual(["report.md"]);
  });

  test("an image over the cap is sniffed from its first MiB: signature and dimensions checked, the rest never read", async () => {
    // A PNG signature and IHDR chunk (width 640, height 480), as the first bytes of a 40 MiB file.
    const head = new Uint8Array(64);
    head.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0x02, 0x80, 0, 0, 0x01, 0xe0, 8, 2, 0, 0, 0]);
    const asked: number[] = [];
    const report = await checkStoredDeliverables(
      [{ name: "photo.png", type: "png", checks: { minWidth: 600, minHeight: 400 } }],
      [{ name: "photo.png", type: "png", size: 40 * MiB, storageId: sid("photo.png") }],
      async (_id, maxBytes) => {
        asked.push(maxBytes);
        return head;
      },
    );
    expect(asked).toEqual([IMAGE_SNIFF_BYTES]);
    expect(report.checks.find((c) => c.check === "type")).toMatchObject({ ok: true, reason: expect.stringContaining(`sniffed from its first 64 bytes of`) });
    expect(report.failed).toEqual([]);
  });

  test("a file gone from storage counts as empty", async () => {
    const report = await checkStoredDeliverables([{ name: "a.md", type: "markdown" }], [{ name: "a.md", type: "markdown", size: 10, storageId: sid("a") }], async () => null);
    expect(report.checks.find((c) => c.check === "non_empty")).toMatchObject({ ok: false });
  });

  test("readBlobHead returns the first bytes and stops at the cap", async () => {
    const blob = new Blob([new Uint8Array(3 * MiB).fill(1), new Uint8Array(MiB).fill(2)]);
    const head = await readBlobHead(blob, 3 * MiB + 5);
    expect(head.length).toBe(3 * MiB + 5);
    expect(head[3 * MiB - 1]).toBe(1);
    expect(head[3 * MiB + 4]).toBe(2);
    expect((await readBlobHead(new Blob(["abc"]), 100)).length).toBe(3);
  });
});
