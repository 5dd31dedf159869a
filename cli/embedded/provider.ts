/**
 * The embedded deployment's sandbox provider: the same E2B provider a real app uses (the official SDK),
 * pointed at the local sandbox host. It plays the part of the app-owned `"use node"` action.
 */
import { internalActionGeneric } from "convex/server";
import { e2bProvider, providerArgs, vProviderResult, type E2bProviderOptions } from "../../convex/providers/e2b.js";

const g = globalThis as { __lakituEmbeddedProvider?: E2bProviderOptions };

/** Sets where the provider sends the SDK (the local host's URL and key) and the runtime command. */
export function configureEmbeddedProvider(options: E2bProviderOptions): void {
  g.__lakituEmbeddedProvider = options;
}

export const provider = internalActionGeneric({
  args: providerArgs,
  returns: vProviderResult,
  handler: async (ctx, args) => {
    if (!g.__lakituEmbeddedProvider) throw new Error("embedded provider used before configureEmbeddedProvider()");
    return await e2bProvider(g.__lakituEmbeddedProvider)(ctx, args);
  },
});
