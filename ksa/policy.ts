/**
 * Which KSAs a stage may use. Pure TS with no imports, so the component (Convex's default runtime)
 * and the sandbox runtime share one rule: exact names only, never prefixes.
 */

/**
 * The KSA names a stage allows: its own list when it has a non-empty one (duplicates dropped, order
 * kept), otherwise every KSA marked `defaultAllowed`. Works on definitions and on registry entries.
 *
 * @example resolveAllowed(undefined, KSA_REGISTRY) // ["file", "shell", "artifacts", "plan", "pdf"]
 */
export function resolveAllowed(
  stageAllowed: readonly string[] | undefined,
  defs: ReadonlyArray<{ name: string; defaultAllowed: boolean }>,
): string[] {
  if (stageAllowed && stageAllowed.length > 0) return [...new Set(stageAllowed)];
  return defs.filter((d) => d.defaultAllowed).map((d) => d.name);
}

/** Exact-name membership: `file` does not admit `files`, `file2` or `file.read`. */
export function isKsaAllowed(allowed: readonly string[], name: string): boolean {
  return allowed.includes(name);
}
