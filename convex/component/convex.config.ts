import { defineComponent } from "convex/server";
import { v } from "convex/values";
import workflow from "@convex-dev/workflow/convex.config.js";
import agent from "@convex-dev/agent/convex.config.js";

/**
 * Model keys live in the component's environment (pass them from the app:
 * `app.use(lakitu, { httpPrefix: "/lakitu/", env: { OPENAI_API_KEY: app.env.OPENAI_API_KEY } })`).
 * They are used by the model gateway and never sent to a sandbox.
 */
const component = defineComponent("lakitu", {
  env: {
    OPENAI_API_KEY: v.optional(v.string()),
    OPENAI_BASE_URL: v.optional(v.string()),
    OPENROUTER_API_KEY: v.optional(v.string()),
    ANTHROPIC_API_KEY: v.optional(v.string()),
    ANTHROPIC_BASE_URL: v.optional(v.string()),
    LAKITU_COMPATIBLE_BASE_URL: v.optional(v.string()),
    LAKITU_COMPATIBLE_API_KEY: v.optional(v.string()),
  },
});
component.use(workflow);
// Conversations of the agents (a thread per card, a message per turn) live in the agent component.
component.use(agent);

export default component;
