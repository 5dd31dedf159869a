/**
 * The watchdog: one scheduled function per live session, re-armed on heartbeat. It fires only when
 * heartbeats stopped or the deadline passed; it then asks the provider whether the sandbox still
 * exists, ends the run (failed or timed_out), kills the sandbox and wakes the workflow.
 */
import { budgetStop } from "../model/budget.js";
import { v } from "convex/values";
import { internalAction, internalMutation } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import { endAgentPhase } from "../model/runs.js";
import { armWatchdog, watchdogDueAt } from "../model/sessions.js";
import { callProvider } from "./sessions.js";
import { limitOf } from "../shared/sandboxLimit.js";
import { capText } from "../shared/text.js";

export const fire = internalMutation({
  args: { sessionId: v.id("sessions") },
  returns: v.null(),
  handler: async (ctx, { sessionId }) => {
    const s = await ctx.db.get(sessionId);
    if (!s || s.state !== "running") return null;
    const run = (await ctx.db.get(s.runId))!;
    if (run.status !== "running") return null;
    const now = Date.now();
    if (s.deadline !== undefined && now >= s.deadline) {
      await budgetStop(ctx, run, "maxDurationMs", `the run reached its deadline (${new Date(s.deadline).toISOString()})`, "watchdog");
      return null;
    }
    if (now < watchdogDueAt(s)) {
      await armWatchdog(ctx, s);
      return null;
    }
    await ctx.db.patch(sessionId, { watchdogId: undefined });
    await ctx.scheduler.runAfter(0, internal.watchdog.probe, { sessionId, heartbeatAt: s.heartbeatAt ?? 0 });
    return null;
  },
});

/** Heartbeats stopped: is the sandbox gone, or alive but silent? Either way the run ends. */
export const probe = internalAction({
  args: { sessionId: v.id("sessions"), heartbeatAt: v.number() },
  returns: v.null(),
  handler: async (ctx, { sessionId, heartbeatAt }) => {
    const info = await ctx.runQuery(internal.sessions.killInfo, { sessionId });
    if (!info) return null;
    let gone = false;
    let detail = "no heartbeat";
    let reason: string | undefined;
    if (info.sandboxId) {
      const r = await callProvider(ctx, info.providerHandle, { op: "status", sandboxId: info.sandboxId });
      if (r.ok && r.op === "status") {
        gone = r.state === "gone";
        reason = r.reason;
      } else if (!r.ok) {
        gone = r.error.code === "not_found";
        detail = `no heartbeat; provider status check failed (${r.error.code})`;
      }
    }
    await ctx.runMutation(internal.watchdog.expire, { sessionId, heartbeatAt, gone, detail, ...(reason ? { reason } : {}) });
    return null;
  },
});

export const expire = internalMutation({
  args: { sessionId: v.id("sessions"), heartbeatAt: v.number(), gone: v.boolean(), detail: v.string(), reason: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, { sessionId, heartbeatAt, gone, detail, reason }) => {
    const s = await ctx.db.get(sessionId);
    if (!s || s.state !== "running") return null;
    const run = (await ctx.db.get(s.runId))!;
    if (!gone && (s.heartbeatAt ?? 0) > heartbeatAt) {
      // A heartbeat arrived while the provider was asked: the sandbox is alive after all.
      await armWatchdog(ctx, s);
      return null;
    }
    const limit = gone ? limitOf(reason) : undefined;
    const outcome = limit
      ? { to: "failed" as const, code: `sandbox_limit_${limit}`, message: capText(reason ?? "", 500) }
      : gone
      ? { to: "failed" as const, code: "sandbox_gone", message: "the provider reports the sandbox is gone" }
      : { to: "failed" as const, code: "heartbeat_timeout", message: `${detail} for ${s.heartbeatTimeoutMs} ms` };
    await endAgentPhase(ctx, run, outcome, "watchdog");
    return null;
  },
});
