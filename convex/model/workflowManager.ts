import { WorkflowManager } from "@convex-dev/workflow";
import { components } from "../component/_generated/api.js";

/**
 * The one workflow manager of the component. The workpool's per-tick report is silenced.
 *
 * Step parallelism (how many workflow steps of all runs execute at once: provisioning, QA checks, the
 * workflow's own mutations; a run waiting for its agent holds no slot) is deliberately NOT set here.
 * @convex-dev/workflow 0.4.8 takes `maxParallelism` only when the manager is built, at module load,
 * where a component has no per-deployment setting to read, and a value given here is re-applied by
 * every workflow start and every step, overriding anything set at runtime. Left unset, the workflow
 * component uses the value stored in its own config, default 25 (its DEFAULT_MAX_PARALLELISM), which the
 * app's operator changes without a code push:
 *
 *   npx convex run --component lakitu/workflow utils:updateConfig '{"maxParallelism": 50}'
 *
 * (`lakitu` is the name the app mounted the component under.) The workpool's guidance: keep the sum
 * over all workpools and workflows of a deployment under about 20 on the free plan and 100 on Pro.
 */
export const workflow = new WorkflowManager(components.workflow, {
  workpoolOptions: { logLevel: "WARN" },
});

/** Names of the events a card-run workflow waits for. */
export const AGENT_DONE = "agent_done";
export const REVIEW_DONE = "review_done";
