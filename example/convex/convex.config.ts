import { defineApp } from "convex/server";
import { v } from "convex/values";
import lakitu from "lakitu/convex.config.js";

// Model keys are declared by the app and bound into the component's environment; they never reach a
// sandbox. The runtime's routes are served at https://<deployment>.convex.site/lakitu/...
const app = defineApp({ env: { OPENAI_API_KEY: v.optional(v.string()) } });
app.use(lakitu, { httpPrefix: "/lakitu/", env: { OPENAI_API_KEY: app.env.OPENAI_API_KEY } });
export default app;
