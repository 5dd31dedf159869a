/**
 * Which KSA names a stage may list: the built-ins (ksa/registry.generated.ts) plus the app's own
 * KSAs, which the component learns two ways: pinned in config by `lakitu publish` (`appKsas`), and
 * passed with each stage write by the client (`new Lakitu(component, { ksas })`, fed by the module
 * `lakitu build` generates). Only writes are checked: a stored stage naming a KSA that is no longer
 * known still reads, and its runs skip the KSA the sandbox does not have.
 */
import { KSA_REGISTRY } from "../../ksa/registry.generated.js";
import { unknownKsas } from "../../ksa/policy.js";
import { fail } from "../shared/errors.js";
import type { StageInput, StagePatch } from "../shared/validators.js";

/** At most this many app KSA names are accepted (config and per call). */
export const MAX_APP_KSAS = 200;
const KSA_NAME = /^[a-z][a-zA-Z0-9_-]{0,63}$/;

export const BUILTIN_KSA_NAMES: readonly string[] = KSA_REGISTRY.map((k) => k.name);

/** Checks a list of app KSA names (`field` names it in the error), e.g. `appKsas` or `ksas`. */
export function checkAppKsaNames(field: string, names: readonly string[] | undefined): void {
  if (!names) return;
  if (names.length > MAX_APP_KSAS) fail("invalid_argument", `${field} has ${names.length} names; the limit is ${MAX_APP_KSAS}`);
  names.forEach((n, i) => {
    if (!KSA_NAME.test(n)) {
      fail("invalid_argument", `${field}[${i}] "${n}" is not a KSA name (letters, digits, - and _, starting with a lowercase letter, at most 64)`);
    }
  });
}

/** Built-ins first, then the app's names not already there. */
export function knownKsaNames(...appLists: Array<readonly string[] | undefined>): string[] {
  return [...new Set([...BUILTIN_KSA_NAMES, ...appLists.flatMap((l) => l ?? [])])];
}

/**
 * Refuses a stage (or patch) whose `allowedKsas` names a KSA that is not known. The error names the
 * field by its path (`stages[1].allowedKsas[0]`) and lists every known name.
 */
export function checkStageKsas(where: string, stage: StageInput | StagePatch, known: readonly string[]): void {
  const list = stage.allowedKsas;
  if (!list) return;
  const unknown = new Set(unknownKsas(list, known));
  const i = list.findIndex((n) => unknown.has(n));
  if (i < 0) return;
  const others = [...unknown].filter((n) => n !== list[i]);
  fail(
    "invalid_argument",
    `${where}.allowedKsas[${i}] "${list[i]}" is not a known KSA${others.length ? ` (nor ${others.map((n) => `"${n}"`).join(", ")})` : ""}; ` +
      `known: ${known.join(", ")}. The app's own KSAs (lakitu/ksa/) are known once \`npx lakitu build\` listed them for the client ` +
      "(new Lakitu(components.lakitu, { ksas })) or `npx lakitu publish` pinned them; [] allows no KSA, leaving the field out allows the defaults",
  );
}
