import { defineApp } from "convex/server";
import lakitu from "lakitu/convex.config.js";

const app = defineApp();
// The runtime routes are mounted by http.ts with registerRoutes (see README for the httpPrefix form).
app.use(lakitu);
export default app;
