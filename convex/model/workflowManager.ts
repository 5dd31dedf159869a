import { WorkflowManager } from "@convex-dev/workflow";
import { components } from "../component/_generated/api.js";

/** The one workflow manager of the component. The workpool's per-tick report is silenced. */
export const workflow = new WorkflowManager(components.workflow, {
  workpoolOptions: { logLevel: "WARN", maxParallelism: 20 },
});

/** Names of the events a card-run workflow waits for. */
export const AGENT_DONE = "agent_done";
export const REVIEW_DONE = "review_done";
