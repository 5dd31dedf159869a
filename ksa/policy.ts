/**
 * Which KSAs a stage may use. Pure TS with no imports, so the component (Convex's default runtime)
 * and the sandbox runtime share one rule: exact names only, never prefixes.
 */

/**
 * The KSA names a stage allows. A list, even an empty one, is taken as written (duplicates dropped,
 * order kept): `[]` allows no KSA at all. Only a missing list (`undefined`) means the default: every
 * KSA marked `defaultAllowed`. Works on definitions and on registry entries.
 *
 * @example resolveAllowed(undefined, KSA_REGISTRY) // ["file", "shell", "artifacts", "plan", "pdf"]
 * @example resolveAllowed([], KSA_REGISTRY)        // []
 */
export function resolveAllowed(
  stageAllowed: readonly string[] | undefined,
  defs: ReadonlyArray<{ name: string; defaultAllowed: boolean }>,
): string[] {
  if (stageAllowed !== undefined) return [...new Set(stageAllowed)];
  return defs.filter((d) => d.defaultAllowed).map((d) => d.name);
}

/** Exact-name membership: `file` does not admit `files`, `file2` or `file.read`. */
export function isKsaAllowed(allowed: readonly string[], name: string): boolean {
  return allowed.includes(name);
}

/** The names in `requested` that are not in `known` (exact names), in order, without duplicates. */
export function unknownKsas(requested: readonly string[], known: readonly string[]): string[] {
  const k = new Set(known);
  return [...new Set(requested.filter((n) => !k.has(n)))];
}
