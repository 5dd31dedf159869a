/**
 * Which version of an artifact is current, read through indexes: `by_run_name` (name, version) for the
 * latest version of one name, `by_run_current` (superseded = false) for the current version of every
 * name. Neither reads superseded versions, so 1,000 versions of one file cost one document.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { QueryCtx } from "../component/_generated/server.js";

/** A run keeps at most this many current names (the runtime uploads at most 500 files, a manifest names at most 500). */
export const MAX_CURRENT_ARTIFACTS = 500;

/** The latest version of `name` in the run, or null. */
export async function latestVersion(ctx: QueryCtx, runId: Id<"runs">, name: string): Promise<Doc<"artifacts"> | null> {
  return await ctx.db
    .query("artifacts")
    .withIndex("by_run_name", (q) => q.eq("runId", runId).eq("name", name))
    .order("desc")
    .first();
}

/** The current (latest, not superseded) version of each name in the run, by name; at most MAX_CURRENT_ARTIFACTS. */
export async function currentArtifacts(ctx: QueryCtx, runId: Id<"runs">): Promise<Doc<"artifacts">[]> {
  return await ctx.db
    .query("artifacts")
    .withIndex("by_run_current", (q) => q.eq("runId", runId).eq("superseded", false))
    .take(MAX_CURRENT_ARTIFACTS);
}

/** The version of `name` whose bytes hash to `sha256` (a manifest entry), newest first, or null. */
export async function versionWithHash(ctx: QueryCtx, runId: Id<"runs">, name: string, sha256: string): Promise<Doc<"artifacts"> | null> {
  const latest = await latestVersion(ctx, runId, name);
  if (!latest || latest.sha256 === sha256) return latest;
  // An older version (the runtime re-uploaded after completing): bounded, newest first.
  const older = await ctx.db
    .query("artifacts")
    .withIndex("by_run_name", (q) => q.eq("runId", runId).eq("name", name).lt("version", latest.version))
    .order("desc")
    .take(100);
  return older.find((a) => a.sha256 === sha256) ?? null;
}
