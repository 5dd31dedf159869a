/**
 * Knowledge-Skills-Abilities: what agent code imports from "lakitu/ksa" inside a sandbox.
 * The runtime builds the module with `createKsaModule(ctx, BUILTIN_KSAS, resolveAllowed(stage, BUILTIN_KSAS), stage)`.
 */
export { defineKSA, toRegistryEntry, type TypedKsaDefinition } from "./define.js";
export { createKsaModule, formatIssues, type KsaCallable, type KsaModule } from "./module.js";
export { resolveAllowed, isKsaAllowed } from "./policy.js";
export { ksaReference } from "./reference.js";
export { KsaCallError, KsaDefinitionError, KsaPolicyError } from "./errors.js";
export { BUILTIN_KSAS } from "./builtins/index.js";
export { onShellGroup, scrubbedEnv, type ShellGroupEvent } from "./builtins/shell.js";
export type { KsaContext, KsaDefinition, KsaFunction, KsaRegistryEntry } from "./types.js";
