/**
 * What the runtime inside a sandbox calls, through the HTTP routes (convex/shared/routes.ts). Every
 * function takes the bearer token and generation and authenticates first. These are public so a parent
 * app that mounts the routes itself (`registerRoutes`) can reach them; without a valid token they do
 * nothing.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import { action, mutation, query } from "../model/functions.js";
import { api, internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { HEARTBEAT_WRITE_DEBOUNCE_MS, MAX_INBOX_PULL, MAX_RESTORE_BYTES } from "../shared/defaults.js";
import { fail, isLakituError, type LakituErrorCode } from "../shared/errors.js";
import { capText } from "../shared/text.js";
import { MAX_ARTIFACT_NAME, artifactNameProblem, typeFromName } from "../shared/names.js";
import { DELIVERABLE_TYPES, vCompletion, vEventInput, type Completion } from "../shared/validators.js";
import { getConfig } from "../model/config.js";
import { endAgentPhase } from "../model/runs.js";
import { currentArtifacts, latestVersion } from "../model/artifactVersions.js";
import { normalizeSha256, storageSha256Hex } from "../shared/uploadLimits.js";
import { authenticate, touchActivity } from "../model/runtime.js";
import { componentRedactor } from "../model/secrets.js";
import { scheduleGapScan } from "../model/gaps.js";
import { armWatchdog } from "../model/sessions.js";
import { sha256Hex } from "../model/tokens.js";
import { isTerminal } from "../model/machine.js";
import { componentEvent } from "../model/budget.js";
import { artifactQuotaProblem, eventQuotaProblem, versionQuotaProblem } from "../model/quotas.js";

const auth = { token: v.string(), generation: v.number() };

/** Stores a batch of events; idempotent by (run, seq). Secrets are redacted and sizes capped first. */
export const events = mutation({
  args: { ...auth, events: v.array(vEventInput) },
  returns: v.object({ stored: v.number(), duplicates: v.number(), quotaExceeded: v.optional(v.string()) }),
  handler: async (ctx, args) => {
    const { session, run } = await authenticate(ctx, args);
    const config = await getConfig(ctx);
    if (args.events.length > config.maxEventBatch) {
      fail("too_large", `batch has ${args.events.length} events; the limit is ${config.maxEventBatch} per request`);
    }
    const redact = componentRedactor(config, args.token);
    for (const e of args.events) {
      if (!Number.isInteger(e.seq) || e.seq < 0 || e.seq > 1e9) fail("invalid_argument", `event seq must be an integer from 0 to 1e9, got ${e.seq}`);
    }
    // The seqs already stored, read with one index range per stretch of consecutive seqs in the batch.
    // A batch the runtime sends is one stretch (its seqs follow each other; two when it carries the
    // marker of events it dropped), so one query per batch, not one per event; and a range never spans
    // a seq the batch lacks, so it reads at most as many documents as the batch has events.
    const seqs = [...new Set(args.events.map((e) => e.seq))].sort((a, b) => a - b);
    const present = new Set<number>();
    for (let first = 0; first < seqs.length; ) {
      let last = first;
      while (last + 1 < seqs.length && seqs[last + 1] === seqs[last] + 1) last++;
      const [from, to] = [seqs[first], seqs[last]];
      const existing = await ctx.db
        .query("events")
        .withIndex("by_run_seq", (q) => q.eq("runId", run._id).gte("seq", from).lte("seq", to))
        .collect();
      for (const e of existing) present.add(e.seq);
      first = last + 1;
    }
    const seen = new Set<number>();
    const fresh = args.events.filter((e) => {
      const dup = seen.has(e.seq) || present.has(e.seq);
      seen.add(e.seq);
      return !dup;
    });
    const duplicates = args.events.length - fresh.length;
    // A batch that would pass the run's event quota is refused whole. Reported, not thrown, so the quota
    // event recorded here is committed; the route answers 413.
    const over = eventQuotaProblem(run, fresh.length, config.maxRunEvents);
    if (over) {
      if ((run.eventCount ?? 0) < config.maxRunEvents) {
        await componentEvent(ctx, run, "quota_exceeded", "error", over);
        await ctx.db.patch(run._id, { eventCount: config.maxRunEvents });
      }
      return { stored: 0, duplicates, quotaExceeded: over };
    }
    for (const e of fresh) {
      await ctx.db.insert("events", {
        runId: run._id,
        seq: e.seq,
        kind: capText(redact.text(e.kind), 64),
        level: e.level ?? "info",
        text: e.text === undefined ? undefined : capText(redact.text(e.text), config.maxEventBytes),
        // Keys as well as values: agent output can carry a secret as an object key.
        data: e.data === undefined ? undefined : capJson(redact.value(parseJson(e.data)), config.maxEventBytes),
        ts: e.ts ?? Date.now(),
      });
    }
    const stored = fresh.length;
    if (stored > 0) {
      await ctx.db.patch(run._id, { eventCount: (run.eventCount ?? 0) + stored });
      await touchActivity(ctx, session);
    }
    return { stored, duplicates };
  },
});

function sameCompletion(a: Completion, b: Completion): boolean {
  return a.status === b.status && a.manifest.map((m) => m.name).join("\n") === b.manifest.map((m) => m.name).join("\n");
}

type ManifestEntry = Completion["manifest"][number];

/**
 * The manifest with every entry's hash filled in: an entry without one names the latest upload of that
 * name; an empty manifest (a runtime that sent none) names every current artifact of the run.
 */
async function pinManifest(ctx: MutationCtx, runId: Id<"runs">, manifest: ManifestEntry[]): Promise<ManifestEntry[]> {
  if (manifest.length === 0) {
    const current = await currentArtifacts(ctx, runId);
    return current.map((a) => ({ name: a.name, type: a.type, sha256: a.sha256 }));
  }
  const out: ManifestEntry[] = [];
  for (const m of manifest) {
    if (m.sha256 !== undefined) out.push(m);
    else {
      const latest = await latestVersion(ctx, runId, m.name);
      out.push(latest ? { ...m, sha256: latest.sha256 } : m);
    }
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    fail("invalid_argument", "event data must be JSON text");
  }
}

function capJson(value: unknown, max: number): string {
  const json = JSON.stringify(value) ?? "null";
  return json.length <= max ? json : JSON.stringify({ truncated: true, chars: json.length, preview: json.slice(0, Math.min(200, max)) });
}

/** Liveness. Re-arms the watchdog; writes at most once per debounce interval. */
export const heartbeat = mutation({
  args: auth,
  returns: v.object({ status: v.string(), deadline: v.optional(v.number()) }),
  handler: async (ctx, args) => {
    const { session, run } = await authenticate(ctx, args);
    const now = Date.now();
    // The debounce must stay well under the timeout, or a runtime heartbeating in time is still killed.
    const debounceMs = Math.min(HEARTBEAT_WRITE_DEBOUNCE_MS, session.heartbeatTimeoutMs / 4);
    if (session.state === "running" && now - (session.heartbeatAt ?? 0) >= debounceMs) {
      await ctx.db.patch(session._id, { heartbeatAt: now });
      await armWatchdog(ctx, { ...session, heartbeatAt: now });
    }
    return { status: run.status, deadline: session.deadline };
  },
});

/** The runtime's final report. First terminal writer wins; a repeat or a late report changes nothing. */
export const complete = mutation({
  args: { ...auth, completion: vCompletion },
  returns: v.object({ accepted: v.boolean(), status: v.string() }),
  handler: async (ctx, args) => {
    const { run } = await authenticate(ctx, args);
    const config = await getConfig(ctx);
    const redact = componentRedactor(config, args.token);
    const c = args.completion;
    if (c.manifest.length > 500) fail("too_large", `manifest lists ${c.manifest.length} files; the limit is 500`);
    const completion = {
      ...c,
      summary: c.summary === undefined ? undefined : capText(redact.text(c.summary), 4000),
      error: c.error === undefined ? undefined : capText(redact.text(c.error), 4000),
      // The manifest is runtime text like the summary: redacted and capped before it is stored.
      manifest: c.manifest.map((m) => ({
        name: capText(redact.text(m.name), MAX_ARTIFACT_NAME),
        ...(m.type === undefined ? {} : { type: capText(redact.text(m.type), 64) }),
        // A value that is not a SHA-256 names nothing: the entry is pinned to the latest upload instead.
        ...(m.sha256 === undefined || !/^[0-9a-fA-F]{64}$/.test(m.sha256) ? {} : { sha256: m.sha256.toLowerCase() }),
      })),
    };
    // QA checks exactly these hashes, whatever is uploaded later (uploads close now anyway).
    completion.manifest = await pinManifest(ctx, run._id, completion.manifest);
    // A retry of a completion that was already accepted (its answer was lost) is acknowledged again.
    if (run.completion && run.agentDoneSent && sameCompletion(run.completion, completion)) return { accepted: true, status: run.status };
    const accepted = c.status === "canceled"
      ? await endAgentPhase(ctx, run, { to: "failed", code: "runtime_canceled", message: completion.error ?? "the runtime was stopped", completion }, "runtime")
      : await endAgentPhase(ctx, run, { to: "collecting", completion }, "runtime");
    if (accepted) await scheduleGapScan(ctx, run._id, c.eventCount);
    return { accepted, status: (await ctx.db.get(run._id))!.status };
  },
});

/** Steering messages after `afterSeq`; acknowledges (marks delivered) everything up to `afterSeq`. */
export const inbox = mutation({
  args: { ...auth, afterSeq: v.number() },
  returns: v.object({ messages: v.array(v.object({ seq: v.number(), text: v.string(), author: v.optional(v.string()) })) }),
  handler: async (ctx, args) => {
    const { session, run } = await authenticate(ctx, args);
    const acked = await ctx.db
      .query("inbox")
      .withIndex("by_run_seq", (q) => q.eq("runId", run._id).lte("seq", args.afterSeq))
      .order("desc")
      .take(MAX_INBOX_PULL);
    for (const m of acked) if (m.deliveredAt === undefined) await ctx.db.patch(m._id, { deliveredAt: Date.now() });
    const pending = await ctx.db
      .query("inbox")
      .withIndex("by_run_seq", (q) => q.eq("runId", run._id).gt("seq", args.afterSeq))
      .take(MAX_INBOX_PULL);
    await touchActivity(ctx, session);
    // What the sandbox receives carries no secret the component knows (the app may paste one in by mistake).
    const redact = componentRedactor(await getConfig(ctx), args.token);
    return { messages: pending.map((m) => ({ seq: m.seq, text: redact.text(m.text), author: m.author === undefined ? undefined : redact.text(m.author) })) };
  },
});

/**
 * Stores an artifact's bytes in the component's file storage and records it. Idempotent: the same bytes
 * under the same name return the existing record; changed bytes add a new version.
 */
export const uploadArtifact = action({
  args: {
    ...auth,
    name: v.string(),
    type: v.optional(v.string()),
    contentType: v.optional(v.string()),
    sha256: v.optional(v.string()),
    bytes: v.bytes(),
  },
  returns: v.object({ artifactId: v.string(), version: v.number(), duplicate: v.boolean() }),
  handler: async (ctx, args): Promise<{ artifactId: string; version: number; duplicate: boolean }> => {
    const bytes = new Uint8Array(args.bytes);
    const sha256 = await sha256Hex(bytes);
    // Name and content type are runtime text: stored (and echoed in errors) only with secrets redacted.
    const pre = await ctx.runQuery(internal.runtime.checkUpload, {
      token: args.token,
      generation: args.generation,
      size: bytes.byteLength,
      name: args.name,
      sha256,
      ...(args.contentType === undefined ? {} : { contentType: args.contentType }),
    });
    if (pre.existing) return { ...pre.existing, duplicate: true };
    const name = pre.name;
    const problem = artifactNameProblem(name);
    if (problem) fail("invalid_argument", problem);
    if (args.type !== undefined && !(DELIVERABLE_TYPES as readonly string[]).includes(args.type)) {
      fail("invalid_argument", `artifact type "${args.type}" is unknown; use one of ${DELIVERABLE_TYPES.join(", ")}`);
    }
    if (args.sha256 !== undefined && args.sha256.toLowerCase() !== sha256) {
      fail("invalid_argument", `sha256 mismatch for "${name}": header says ${args.sha256.slice(0, 64)}, body hashes to ${sha256}; the upload was corrupted`);
    }
    const contentType = pre.contentType ?? "application/octet-stream";
    const storageId = await ctx.storage.store(new Blob([bytes], { type: contentType }));
    try {
      const r = await ctx.runMutation(internal.runtime.recordArtifact, {
        token: args.token,
        generation: args.generation,
        name,
        type: args.type ?? typeFromName(name),
        contentType,
        size: bytes.byteLength,
        sha256,
        storageId,
      });
      if (r.duplicate) await ctx.storage.delete(storageId);
      return r;
    } catch (e) {
      await ctx.storage.delete(storageId);
      throw e;
    }
  },
});

/**
 * The storage id of a file the runtime may restore: an artifact of the run this one resumes. Public
 * (token-authenticated like every runtime function) so the component's own /restore route can stream
 * the file from storage without the bytes passing through a function's return value.
 */
export const restoreSource = query({
  args: { ...auth, artifactId: v.string() },
  returns: v.object({ storageId: v.id("_storage"), name: v.string(), size: v.number() }),
  handler: async (ctx, args) => {
    const { run } = await authenticate(ctx, args);
    if (isTerminal(run.status)) fail("conflict", `run ${run._id} is ${run.status}`);
    const id = ctx.db.normalizeId("artifacts", args.artifactId);
    const art = id ? await ctx.db.get(id) : null;
    if (!art || !run.resumedFrom || art.runId !== run.resumedFrom) {
      fail("forbidden", `artifact ${args.artifactId} is not a file of the run this one resumes`);
    }
    if (art.size > MAX_RESTORE_BYTES) fail("too_large", `artifact ${art.name} is ${art.size} bytes; restores are limited to ${MAX_RESTORE_BYTES}`);
    return { storageId: art.storageId, name: art.name, size: art.size };
  },
});

/** A resumed run's runtime fetches the paused run's files (bytes out; at most MAX_RESTORE_BYTES each). */
export const restoreArtifact = action({
  args: { ...auth, artifactId: v.string() },
  returns: v.bytes(),
  handler: async (ctx, args): Promise<ArrayBuffer> => {
    const src = await ctx.runQuery(api.runtime.restoreSource, args);
    const blob = await ctx.storage.get(src.storageId);
    if (!blob) fail("not_found", `the bytes of ${src.name} are gone from storage`);
    return await blob.arrayBuffer();
  },
});

/**
 * Checks an upload before its bytes are stored: the token, the run still taking uploads, the size.
 * Returns the name and content type with secrets redacted, or the existing artifact when a retried
 * upload of bytes already recorded arrives after /complete (acknowledged, nothing stored).
 */
export const checkUpload = internalQuery({
  args: { ...auth, size: v.number(), name: v.string(), sha256: v.string(), contentType: v.optional(v.string()) },
  returns: v.object({
    name: v.string(),
    contentType: v.optional(v.string()),
    existing: v.optional(v.object({ artifactId: v.string(), version: v.number() })),
  }),
  handler: (ctx, args) => uploadCheck(ctx, args),
});

/** checkUpload's logic, shared with beginUpload and commitArtifact. */
export async function uploadCheck(
  ctx: QueryCtx,
  args: { token: string; generation: number; size: number; name: string; sha256: string; contentType?: string },
): Promise<{ name: string; contentType?: string; existing?: { artifactId: string; version: number } }> {
  const { run } = await authenticate(ctx, args);
  const config = await getConfig(ctx);
  const redact = componentRedactor(config, args.token);
  const name = redact.text(args.name);
  const contentType = args.contentType === undefined ? undefined : capText(redact.text(args.contentType), 200);
  if (uploadsClosed(run)) {
    const same = await ctx.db.query("artifacts").withIndex("by_run_name", (q) => q.eq("runId", run._id).eq("name", name)).order("desc").first();
    if (same && same.sha256 === args.sha256) return { name, contentType, existing: { artifactId: same._id, version: same.version } };
    uploadsClosedError(run);
  }
  if (args.size > config.maxArtifactBytes) fail("too_large", `artifact is ${args.size} bytes; the limit is ${config.maxArtifactBytes}`);
  if (args.size === 0) fail("invalid_argument", "artifact is empty");
  const over = artifactQuotaProblem(run, args.size, config);
  if (over) fail("quota_exceeded", over);
  return { name, contentType };
}

/** Uploads close when the runtime completes (QA checks what the completion named) or the run ends. */
function uploadsClosed(run: Doc<"runs">): boolean {
  return run.completion !== undefined || isTerminal(run.status);
}

function uploadsClosedError(run: Doc<"runs">): never {
  fail("uploads_closed", `run ${run._id} is ${run.status}${run.completion ? " and its runtime has completed" : ""}; uploads are closed (upload every file before calling /complete)`);
}

export const recordArtifact = internalMutation({
  args: {
    ...auth,
    name: v.string(),
    type: v.string(),
    contentType: v.string(),
    size: v.number(),
    sha256: v.string(),
    storageId: v.id("_storage"),
  },
  returns: v.object({ artifactId: v.string(), version: v.number(), duplicate: v.boolean() }),
  handler: (ctx, args) => recordArtifactHandler(ctx, args),
});

/** recordArtifact's logic, shared with commitArtifact. Throws (before any write) when the upload is refused. */
export async function recordArtifactHandler(
  ctx: MutationCtx,
  args: { token: string; generation: number; name: string; type: string; contentType: string; size: number; sha256: string; storageId: Id<"_storage"> },
): Promise<{ artifactId: string; version: number; duplicate: boolean }> {
  const { session, run } = await authenticate(ctx, args);
  // Checked again here: a completion may have landed while the bytes were being stored.
  if (uploadsClosed(run)) uploadsClosedError(run);
  const latest = await ctx.db
    .query("artifacts")
    .withIndex("by_run_name", (q) => q.eq("runId", run._id).eq("name", args.name))
    .order("desc")
    .first();
  if (latest && latest.sha256 === args.sha256) return { artifactId: latest._id, version: latest.version, duplicate: true };
  // Checked again here, where the count is updated: concurrent uploads cannot both pass the quota.
  const quotaConfig = await getConfig(ctx);
  const over = artifactQuotaProblem(run, args.size, quotaConfig) ?? versionQuotaProblem(run, args.name, latest?.version ?? 0, quotaConfig.maxArtifactVersionsPerName);
  if (over) fail("quota_exceeded", over);
  const stored = run.stored ?? { artifacts: 0, bytes: 0 };
  await ctx.db.patch(run._id, { stored: { artifacts: stored.artifacts + 1, bytes: stored.bytes + args.size } });
  if (latest) await ctx.db.patch(latest._id, { superseded: true });
  const artifactId: Id<"artifacts"> = await ctx.db.insert("artifacts", {
    runId: run._id,
    cardId: run.cardId,
    stageId: run.stageId,
    name: args.name,
    type: args.type,
    contentType: args.contentType,
    size: args.size,
    sha256: args.sha256,
    storageId: args.storageId,
    version: (latest?.version ?? 0) + 1,
    superseded: false,
    review: "pending",
  });
  await touchActivity(ctx, session);
  return { artifactId, version: (latest?.version ?? 0) + 1, duplicate: false };
}

/** Refuses an artifact name with a path problem or a type Lakitu does not know. */
function checkNameAndType(name: string, type: string | undefined): void {
  const problem = artifactNameProblem(name);
  if (problem) fail("invalid_argument", problem);
  if (type !== undefined && !(DELIVERABLE_TYPES as readonly string[]).includes(type)) {
    fail("invalid_argument", `artifact type "${type}" is unknown; use one of ${DELIVERABLE_TYPES.join(", ")}`);
  }
}

function checkSha256Arg(sha256: string): string {
  const hex = normalizeSha256(sha256);
  if (!hex) fail("invalid_argument", `sha256 must be the file's SHA-256 as 64 hex digits, got ${JSON.stringify(sha256.slice(0, 80))}`);
  return hex;
}

const vExisting = v.object({ artifactId: v.string(), version: v.number() });

/**
 * Step 1 of an upload (see convex/shared/uploadLimits.ts): every check that needs no bytes, then a
 * storage upload URL. When the latest version of `name` already has these bytes, answers `existing`
 * and nothing needs to be sent.
 */
export const beginUpload = mutation({
  args: { ...auth, name: v.string(), size: v.number(), sha256: v.string(), type: v.optional(v.string()), contentType: v.optional(v.string()) },
  returns: v.union(v.object({ existing: vExisting }), v.object({ uploadUrl: v.string() })),
  handler: async (ctx, args) => {
    const sha256 = checkSha256Arg(args.sha256);
    if (!Number.isSafeInteger(args.size) || args.size < 0) fail("invalid_argument", `size must be the file's length in bytes (a whole number), got ${args.size}`);
    const pre = await uploadCheck(ctx, { token: args.token, generation: args.generation, size: args.size, name: args.name, sha256, contentType: args.contentType });
    if (pre.existing) return { existing: pre.existing };
    checkNameAndType(pre.name, args.type);
    const { run } = await authenticate(ctx, args);
    const latest = await latestVersion(ctx, run._id, pre.name);
    if (latest && latest.sha256 === sha256) return { existing: { artifactId: latest._id, version: latest.version } };
    return { uploadUrl: await ctx.storage.generateUploadUrl() };
  },
});

const vCommitted = v.object({ ok: v.literal(true), artifactId: v.string(), version: v.number(), duplicate: v.boolean() });
const vRefused = v.object({ ok: v.literal(false), code: v.string(), message: v.string() });
type CommitResult = { ok: true; artifactId: string; version: number; duplicate: boolean } | { ok: false; code: string; message: string };

/**
 * Step 3 of an upload: records the stored file `storageId` as the next version of `name`, after
 * checking its SHA-256 and size (read from the storage metadata, never trusted from the caller) against
 * what the runtime declared. A refused commit deletes the blob, so it is answered as data (`ok: false`)
 * rather than thrown: a thrown error would roll the deletion back. A retried commit of a storage id
 * this run already recorded answers the same artifact.
 */
export const commitArtifact = mutation({
  args: {
    ...auth,
    name: v.string(),
    type: v.optional(v.string()),
    contentType: v.optional(v.string()),
    storageId: v.string(),
    sha256: v.optional(v.string()),
    size: v.optional(v.number()),
  },
  returns: v.union(vCommitted, vRefused),
  handler: async (ctx, args): Promise<CommitResult> => {
    const { run } = await authenticate(ctx, args);
    const storageId = ctx.db.system.normalizeId("_storage", args.storageId);
    if (!storageId) {
      return refused("invalid_argument", `storageId ${JSON.stringify(args.storageId.slice(0, 80))} is not a storage id of this deployment; send the storageId the upload URL answered`);
    }
    const recorded = await ctx.db.query("artifacts").withIndex("by_storage", (q) => q.eq("storageId", storageId)).first();
    if (recorded) {
      if (recorded.runId === run._id) return { ok: true, artifactId: recorded._id, version: recorded.version, duplicate: false };
      return refused("conflict", `storageId ${storageId} is already an artifact of another run; upload the bytes again`);
    }
    const meta = await ctx.db.system.get(storageId);
    if (!meta) return refused("not_found", `no stored file has storageId ${storageId}; POST the bytes to the upload URL first`);
    const stored = storageSha256Hex(meta.sha256);
    const declared = args.sha256 === undefined ? stored : normalizeSha256(args.sha256);
    const mismatch =
      declared === null
        ? `sha256 must be 64 hex digits, got ${JSON.stringify(args.sha256!.slice(0, 80))}`
        : declared !== stored
          ? `sha256 mismatch for "${capText(args.name, 200)}": the runtime declared ${declared}, the stored bytes hash to ${stored}; the upload was corrupted`
          : args.size !== undefined && args.size !== meta.size
            ? `size mismatch for "${capText(args.name, 200)}": the runtime declared ${args.size} bytes, storage holds ${meta.size}; the upload was cut short or padded`
            : null;
    if (mismatch) {
      await ctx.storage.delete(storageId);
      return refused("invalid_argument", `${mismatch}. The stored file was deleted; upload it again.`);
    }
    try {
      const pre = await uploadCheck(ctx, { token: args.token, generation: args.generation, size: meta.size, name: args.name, sha256: stored, contentType: args.contentType });
      if (pre.existing) {
        await ctx.storage.delete(storageId);
        return { ok: true, ...pre.existing, duplicate: true };
      }
      checkNameAndType(pre.name, args.type);
      const r = await recordArtifactHandler(ctx, {
        token: args.token,
        generation: args.generation,
        name: pre.name,
        type: args.type ?? typeFromName(pre.name),
        contentType: pre.contentType ?? meta.contentType ?? "application/octet-stream",
        size: meta.size,
        sha256: stored,
        storageId,
      });
      if (r.duplicate) await ctx.storage.delete(storageId);
      return { ok: true, ...r };
    } catch (e) {
      // Every refusal is thrown before a write: deleting the blob is the only write this commit makes.
      if (!isLakituError(e)) throw e;
      await ctx.storage.delete(storageId);
      // A quota reached is also said in the run's log, where whoever reads the run looks.
      if (e.data.code === "quota_exceeded") await componentEvent(ctx, run, "quota_exceeded", "error", e.data.message);
      return refused(e.data.code, e.data.message);
    }
  },
});

function refused(code: LakituErrorCode, message: string): CommitResult {
  return { ok: false, code, message };
}
