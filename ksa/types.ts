/**
 * The contract of a KSA (Knowledge, Skills, Abilities): a named group of functions the agent's code
 * imports from "lakitu/ksa". A function either runs in the sandbox (`local`) or is forwarded by the
 * runtime to the component's `/ksa` route and executed there after a policy check (`gateway`).
 */
import type { z } from "zod";

/** What a local KSA function may use. Paths given to KSAs are relative to `workspace`. */
export type KsaContext = {
  /** Absolute path of the sandbox workspace (the only writable place). */
  workspace: string;
  /** Absolute path of the output folder inside the workspace; files here become artifacts. */
  outputDir: string;
  /** Forwards a gateway function call to the component (policy-checked there). */
  gateway(ksa: string, fn: string, args: unknown): Promise<unknown>;
};

export type KsaFunction<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> = {
  description: string;
  params: P;
  result: R;
  /** Runs in the sandbox. Exactly one of `local` / `gateway`. */
  local?: (ctx: KsaContext, params: z.infer<P>) => Promise<z.infer<R>>;
  /** Executed by the component; the runtime only forwards the call. */
  gateway?: true;
};

export type KsaDefinition = {
  /** Lowercase identifier the agent imports: `import { file } from "lakitu/ksa"`. */
  name: string;
  /** The "knowledge" the model reads in its prompt: what the KSA is for and when to use it. */
  description: string;
  category: "workspace" | "output" | "planning" | "network" | "documents" | "project";
  /** Allowed in a stage that does not list its KSAs. */
  defaultAllowed: boolean;
  functions: Record<string, KsaFunction>;
};

/**
 * The registry entry of a KSA: pure data (params as JSON Schema), importable by the component, which
 * cannot load zod schemas with closures or Node code. Generated into ksa/registry.generated.ts.
 */
export type KsaRegistryEntry = {
  name: string;
  description: string;
  category: KsaDefinition["category"];
  defaultAllowed: boolean;
  functions: Array<{ name: string; description: string; gateway: boolean; params: unknown; result: unknown }>;
};
