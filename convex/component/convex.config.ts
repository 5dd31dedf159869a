import { defineComponent } from "convex/server";
import workflow from "@convex-dev/workflow/convex.config.js";

const component = defineComponent("lakitu");
component.use(workflow);

export default component;
