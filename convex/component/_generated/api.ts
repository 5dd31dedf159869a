/* eslint-disable */
/**
 * Generated `api` utility. Do not edit: run `npm run codegen` (scripts/codegen.ts).
 */
import type * as artifacts from "../artifacts.js";
import type * as boards from "../boards.js";
import type * as cards from "../cards.js";
import type * as config from "../config.js";
import type * as crons from "../crons.js";
import type * as events from "../events.js";
import type * as gateway from "../gateway.js";
import type * as http from "../http.js";
import type * as inbox from "../inbox.js";
import type * as lifecycle from "../lifecycle.js";
import type * as qa from "../qa.js";
import type * as reaper from "../reaper.js";
import type * as runs from "../runs.js";
import type * as runtime from "../runtime.js";
import type * as sessions from "../sessions.js";
import type * as transcripts from "../transcripts.js";
import type * as usage from "../usage.js";
import type * as watchdog from "../watchdog.js";
import type * as workflow from "../workflow.js";

import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

const fullApi: ApiFromModules<{
  "artifacts": typeof artifacts;
  "boards": typeof boards;
  "cards": typeof cards;
  "config": typeof config;
  "crons": typeof crons;
  "events": typeof events;
  "gateway": typeof gateway;
  "http": typeof http;
  "inbox": typeof inbox;
  "lifecycle": typeof lifecycle;
  "qa": typeof qa;
  "reaper": typeof reaper;
  "runs": typeof runs;
  "runtime": typeof runtime;
  "sessions": typeof sessions;
  "transcripts": typeof transcripts;
  "usage": typeof usage;
  "watchdog": typeof watchdog;
  "workflow": typeof workflow;
}> = anyApi as any;

export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;
export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> = anyApi as any;

export const components = componentsGeneric() as unknown as {
  agent: import("@convex-dev/agent/_generated/component.js").ComponentApi<"agent">;
  workflow: import("@convex-dev/workflow/_generated/component.js").ComponentApi<"workflow">;
};
