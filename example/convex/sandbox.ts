"use node";
/** The app-owned sandbox provider: E2B through the official SDK (needs E2B_API_KEY in the deployment). */
import { internalAction } from "./_generated/server";
import { e2bProvider, providerArgs, vProviderResult } from "lakitu/e2b";

export const provider = internalAction({ args: providerArgs, returns: vProviderResult, handler: e2bProvider() });
