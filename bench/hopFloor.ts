/**
 * The floor the completion benchmark compares against: the bare cost of waking a workflow and running
 * one step, on the same workflow component, workpool and deployment as Lakitu's card-run workflow.
 * A workflow waits for an event; when it arrives it runs one action that calls one mutation (the shape
 * of Lakitu's `qa.settleRun` with no QA and no card to settle). Registered only in the benchmark's
 * embedded deployment (`benchFloor`). The mutation's time is recorded in this process.
 */
import { v } from "convex/values";
import { internalActionGeneric, internalMutationGeneric, makeFunctionReference } from "convex/server";
import { workflow } from "../convex/model/workflowManager.js";

/** When each floor run's last mutation ran (`Date.now()`), by id. */
export const reached = new Map<string, number>();
/** When each floor run's event was sent (`Date.now()` in the mutation sending it), by id. */
export const sent = new Map<string, number>();

const stepRef = makeFunctionReference<"action", { id: string }>("benchFloor:step");
const markRef = makeFunctionReference<"mutation", { id: string }>("benchFloor:mark");

export const floor = workflow.define({
  args: { id: v.string() },
  returns: v.null(),
  handler: async (step, { id }): Promise<null> => {
    await step.awaitEvent({ name: "go" });
    await step.runAction(stepRef, { id });
    return null;
  },
});

export const step = internalActionGeneric({
  args: { id: v.string() },
  returns: v.null(),
  handler: async (ctx, { id }) => {
    await ctx.runMutation(markRef, { id });
    return null;
  },
});

export const mark = internalMutationGeneric({
  args: { id: v.string() },
  returns: v.null(),
  handler: async (_ctx, { id }) => {
    reached.set(id, Date.now());
    return null;
  },
});

export const start = internalMutationGeneric({
  args: { id: v.string() },
  returns: v.string(),
  handler: async (ctx, { id }): Promise<string> => {
    const floorRef = makeFunctionReference<"mutation", { args: { id: string } }>("benchFloor:floor");
    return await workflow.start(ctx as never, floorRef as never, { id } as never);
  },
});

export const go = internalMutationGeneric({
  args: { workflowId: v.string(), id: v.string() },
  returns: v.null(),
  handler: async (ctx, { workflowId, id }) => {
    sent.set(id, Date.now());
    await workflow.sendEvent(ctx as never, { workflowId: workflowId as never, name: "go" });
    return null;
  },
});
