/**
 * Retention (configure({ retention: { eventsDays, supersededArtifactsDays } })): events, and artifact
 * versions that were superseded by a newer upload of the same name, older than the configured number of
 * days are deleted, with their stored bytes. The current version of every name is always kept. One
 * step deletes at most DELETE_BATCH documents; the cron reschedules while a step finds a full batch.
 */
import type { MutationCtx } from "../component/_generated/server.js";
import { DELETE_BATCH } from "../shared/defaults.js";
import { getConfig } from "./config.js";

const DAY_MS = 24 * 3_600_000;

export async function retentionStep(ctx: MutationCtx, now: number): Promise<{ events: number; artifacts: number; more: boolean }> {
  const { retention } = await getConfig(ctx);
  let events = 0;
  let artifacts = 0;
  let more = false;
  if (retention.eventsDays !== undefined) {
    const cutoff = now - retention.eventsDays * DAY_MS;
    const old = await ctx.db.query("events").withIndex("by_creation_time", (q) => q.lt("_creationTime", cutoff)).take(DELETE_BATCH);
    for (const e of old) await ctx.db.delete(e._id);
    events = old.length;
    more ||= old.length === DELETE_BATCH;
  }
  if (retention.supersededArtifactsDays !== undefined) {
    const cutoff = now - retention.supersededArtifactsDays * DAY_MS;
    const old = await ctx.db
      .query("artifacts")
      .withIndex("by_superseded", (q) => q.eq("superseded", true).lt("_creationTime", cutoff))
      .take(DELETE_BATCH / 2);
    for (const a of old) {
      if (await ctx.db.system.get(a.storageId)) await ctx.storage.delete(a.storageId);
      await ctx.db.delete(a._id);
    }
    artifacts = old.length;
    more ||= old.length === DELETE_BATCH / 2;
  }
  return { events, artifacts, more };
}
