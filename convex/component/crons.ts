import { cronJobs } from "convex/server";
import { api, internal } from "./_generated/api.js";

/**
 * The component runs its own reaper: the app needs no cron line. Every minute it kills sandboxes idle
 * past their stage's `idleTimeoutMs` or past their deadline, retries kills the provider never
 * confirmed, and reconciles sessions that never started. Each tick reads only what is due.
 */
const crons = cronJobs();
crons.interval("lakitu reaper", { minutes: 1 }, api.reaper.reap, {});
/** Retention (configure({ retention })): deletes old events and superseded artifact versions in bounded batches. */
crons.interval("lakitu retention", { hours: 1 }, internal.lifecycle.applyRetention, {});
export default crons;
