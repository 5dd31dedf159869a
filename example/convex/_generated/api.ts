/* eslint-disable */
/**
 * Generated `api` utility for the example app (written offline in the shape `npx convex dev` emits;
 * regenerate with `npx convex dev` when a deployment is reachable).
 */
import type * as crons from "../crons.js";
import type * as http from "../http.js";
import type * as lakitu from "../lakitu.js";
import type * as sandbox from "../sandbox.js";

import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

const fullApi: ApiFromModules<{
  crons: typeof crons;
  http: typeof http;
  lakitu: typeof lakitu;
  sandbox: typeof sandbox;
}> = anyApi as any;

export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;
export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> = anyApi as any;

export const components = componentsGeneric() as unknown as {
  lakitu: import("lakitu/_generated/component.js").ComponentApi<"lakitu">;
};
