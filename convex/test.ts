/// <reference types="vite/client" />
/**
 * convex-test helper for apps that use Lakitu (package export `lakitu/test`):
 *
 *   import lakituTest from "lakitu/test";
 *   const t = convexTest(schema, modules);
 *   lakituTest.register(t, "lakitu");
 *
 * Registers the component and its nested workflow component (and the workflow's workpool).
 */
import type { TestConvex } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";
import workflowTest from "@convex-dev/workflow/test";
import schema from "./component/schema.js";

const modules = import.meta.glob("./component/**/*.ts");

export function register(t: TestConvex<SchemaDefinition<GenericSchema, boolean>>, name = "lakitu"): void {
  t.registerComponent(name, schema, modules);
  workflowTest.register(t, `${name}/workflow`);
}

export default { register, schema, modules };
