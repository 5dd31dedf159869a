/**
 * The polling baseline of the orchestration benchmark: what a workflow that watched the agent by polling
 * would add — one `runQuery` step reading the run's status and one `sleep` step per period, on the same
 * workflow component as Lakitu's card-run workflow. Registered as an extra module (`benchPoll`) in the
 * benchmark's own convex-test instance only; it is not part of the component.
 */
import { v } from "convex/values";
import { internalMutationGeneric, internalQueryGeneric, makeFunctionReference } from "convex/server";
import { workflow } from "../convex/model/workflowManager.js";

const runStatusRef = makeFunctionReference<"query", { runId: string }, string>("benchPoll:runStatus");

export const pollRun = workflow.define({
  args: { runId: v.string(), everyMs: v.number() },
  returns: v.number(),
  handler: async (step, { runId, everyMs }): Promise<number> => {
    for (let polls = 1; ; polls++) {
      const status: string = await step.runQuery(runStatusRef, { runId });
      if (status !== "queued" && status !== "provisioning" && status !== "running") return polls;
      await step.sleep(everyMs);
    }
  },
});

export const runStatus = internalQueryGeneric({
  args: { runId: v.string() },
  returns: v.string(),
  handler: async (ctx, { runId }) => {
    const id = ctx.db.normalizeId("runs", runId);
    const run = id ? await ctx.db.get(id) : null;
    return (run as { status?: string } | null)?.status ?? "gone";
  },
});

export const startPoll = internalMutationGeneric({
  args: { runId: v.string(), everyMs: v.number() },
  returns: v.string(),
  handler: async (ctx, args): Promise<string> => {
    const pollRunRef = makeFunctionReference<"mutation", { args: { runId: string; everyMs: number } }, number>("benchPoll:pollRun");
    return await workflow.start(ctx as never, pollRunRef as never, args as never);
  },
});
