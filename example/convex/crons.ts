import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();
// Kills idle and overdue sandboxes, retries unconfirmed kills, reconciles sessions that never started.
crons.interval("lakitu reaper", { minutes: 1 }, internal.lakitu.reap, {});
export default crons;
