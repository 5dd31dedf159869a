/**
 * What QA reads of a run's artifacts, in bounded memory: only the deliverables, one at a time, each at
 * most a per-type cap. A V8 action has 64 MiB; seven 10 MiB artifacts loaded together would not fit.
 *
 * - Byte checks (`non_empty`, `minBytes`, `maxBytes`) use the stored size; nothing is read for them.
 * - `file` deliverables are never read: their type check is the stored size.
 * - Text deliverables (markdown, json, csv, text, html) are decoded and parsed whole, so QA reads them
 *   only up to QA_MAX_TEXT_BYTES (2 MiB). A larger one fails its type check with a message that says
 *   so (a prefix cannot be parsed as JSON, and word/row counts of a prefix would be wrong); declare big
 *   data as `file` to check it by size.
 * - Binary deliverables (pdf, png, jpeg) are read whole up to QA_MAX_BINARY_BYTES (16 MiB). A larger
 *   one is sniffed instead: a PDF from its first and last KiB (header and %%EOF), an image from its
 *   first MiB (signature and dimensions). A PDF with `minPages` must be read whole (pages are counted
 *   across the file), so past the cap it fails its type check with a message saying so.
 * Reads stream from storage and stop at the cap, whatever size the metadata claims.
 */
import type { Id } from "../component/_generated/dataModel.js";
import { checkDeliverable, qaReport, type QaArtifact } from "../shared/qa.js";
import type { Deliverable, DeliverableType, QaReport } from "../shared/validators.js";

export const QA_MAX_TEXT_BYTES = 2 * 1024 * 1024;
export const QA_MAX_BINARY_BYTES = 16 * 1024 * 1024;
const TEXT: readonly DeliverableType[] = ["markdown", "json", "csv", "text", "html"];

export type StoredArtifact = { name: string; type: string; size: number; storageId: Id<"_storage"> };
/** Reads at most `maxBytes` from the start of a stored file; null if the file is gone. */
export type ReadHead = (storageId: Id<"_storage">, maxBytes: number) => Promise<Uint8Array | null>;
/** Reads the last `bytes` of a stored file; null if the file is gone. */
export type ReadTail = (storageId: Id<"_storage">, bytes: number) => Promise<Uint8Array | null>;

/** What is sampled of a binary deliverable larger than QA reads. */
export const PDF_SNIFF_BYTES = 1024;
export const IMAGE_SNIFF_BYTES = 1024 * 1024;

/** How many bytes QA reads of a deliverable of this type (0: none). */
export function qaReadLimit(type: DeliverableType): number {
  if (type === "file") return 0;
  return TEXT.includes(type) ? QA_MAX_TEXT_BYTES : QA_MAX_BINARY_BYTES;
}

/** Checks the deliverables against the stored artifacts, loading one deliverable's bytes at a time. */
export async function checkStoredDeliverables(
  deliverables: Deliverable[],
  artifacts: StoredArtifact[],
  readHead: ReadHead,
  readTail?: ReadTail,
): Promise<QaReport> {
  const byName = new Map<string, StoredArtifact>();
  for (const a of artifacts) if (!byName.has(a.name)) byName.set(a.name, a);
  const results = [];
  for (const d of deliverables) {
    const stored = byName.get(d.name);
    // Awaited in turn: the previous deliverable's bytes are garbage before the next are read.
    results.push(checkDeliverable(d, stored ? await loadForQa(d, stored, readHead, readTail) : undefined));
  }
  return qaReport(results, [...byName.keys()]);
}

async function loadForQa(d: Deliverable, a: StoredArtifact, readHead: ReadHead, readTail?: ReadTail): Promise<QaArtifact> {
  const limit = qaReadLimit(d.type);
  const empty = new Uint8Array(0);
  if (limit === 0) return { name: a.name, type: a.type, size: a.size, bytes: empty, unread: "file deliverables are checked by their stored size" };
  const gone = { name: a.name, type: a.type, size: 0, bytes: empty };
  if (a.size > limit && d.type === "pdf" && d.checks?.minPages === undefined && readTail) {
    const head = await readHead(a.storageId, PDF_SNIFF_BYTES);
    const tail = head && (await readTail(a.storageId, PDF_SNIFF_BYTES));
    if (!head || !tail) return gone;
    const bytes = new Uint8Array(head.length + tail.length);
    bytes.set(head);
    bytes.set(tail, head.length);
    return { name: a.name, type: a.type, size: a.size, bytes, sniffed: `its first and last ${PDF_SNIFF_BYTES} bytes` };
  }
  if (a.size > limit && (d.type === "png" || d.type === "jpeg")) {
    const head = await readHead(a.storageId, IMAGE_SNIFF_BYTES);
    return head ? { name: a.name, type: a.type, size: a.size, bytes: head, sniffed: `its first ${head.length} bytes` } : gone;
  }
  if (a.size > limit) {
    const kind = TEXT.includes(d.type) ? "text" : "binary";
    return {
      name: a.name,
      type: a.type,
      size: a.size,
      bytes: empty,
      unread: `${a.name} is ${a.size} bytes; QA reads ${kind} deliverables (${d.type}${d.type === "pdf" ? " with minPages" : ""}) whole, at most ${limit} bytes; keep it under that size or declare the deliverable as type "file" (checked by size only)`,
    };
  }
  const bytes = await readHead(a.storageId, limit);
  // A file gone from storage counts as empty, as before.
  return bytes === null ? { name: a.name, type: a.type, size: 0, bytes: empty } : { name: a.name, type: a.type, size: a.size, bytes };
}

/** The last `bytes` of a blob (Blob.slice: nothing before them is read). */
export async function readBlobTail(blob: Blob, bytes: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(Math.max(0, blob.size - bytes)).arrayBuffer());
}

/** The first `maxBytes` of a blob, read from its stream (the rest is never read). */
export async function readBlobHead(blob: Blob, maxBytes: number): Promise<Uint8Array> {
  // A runtime without Blob streams still reads only the head.
  if (typeof blob.stream !== "function") return new Uint8Array(await blob.slice(0, maxBytes).arrayBuffer());
  const reader = blob.stream().getReader();
  const out = new Uint8Array(Math.min(maxBytes, blob.size));
  let filled = 0;
  try {
    while (filled < out.length) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, out.length - filled);
      out.set(value.subarray(0, take), filled);
      filled += take;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return out.subarray(0, filled);
}
