/// <reference types="vite/client" />
/**
 * convex-test helper for apps that use Lakitu (package export `lakitu/test`):
 *
 *   import lakituTest from "lakitu/test";
 *   const t = convexTest(schema, modules);
 *   lakituTest.register(t, "lakitu");
 *
 * Registers the component and its nested components: workflow (with its workpool) and agent.
 */
import type { TestConvex } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";
import workflowTest from "@convex-dev/workflow/test";
import agentTest from "@convex-dev/agent/test";
import schema from "./component/schema.js";

const modules = import.meta.glob("./component/**/*.ts");

export function register(t: TestConvex<SchemaDefinition<GenericSchema, boolean>>, name = "lakitu"): void {
  t.registerComponent(name, schema, modules);
  workflowTest.register(t, `${name}/workflow`);
  agentTest.register(t, `${name}/agent`);
}

export default { register, schema, modules };
