/**
 * Input validation beyond what Convex validators express. Each check throws
 * `ConvexError({code: "invalid_argument"})` naming the field, the problem and the fix, before
 * anything is written.
 */
import { checkPrices } from "../gateway/prices.js";
import { fail } from "../shared/errors.js";
import * as D from "../shared/defaults.js";
import { deliverableProblems } from "../shared/qa.js";
import { artifactNameProblem } from "../shared/names.js";
import { secretNamesProblem } from "../shared/redact.js";
import { checkAppKsaNames } from "./ksas.js";
import type { ConfigPatch, StageInput, StageLimits, StagePatch } from "../shared/validators.js";

type Bound = { min: number; max: number };

export function checkNumber(field: string, value: number | undefined, bound: Bound, integer = true): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < bound.min || value > bound.max) {
    fail(
      "invalid_argument",
      `${field} must be ${integer ? "an integer" : "a number"} between ${bound.min} and ${bound.max}, got ${value}`,
      field,
    );
  }
}

export function checkName(field: string, value: string, max = D.MAX_NAME_LENGTH): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) fail("invalid_argument", `${field} must not be empty`, field);
  if (trimmed.length > max) fail("invalid_argument", `${field} is ${trimmed.length} characters; the limit is ${max}`, field);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) fail("invalid_argument", `${field} must not contain control characters`, field);
  return trimmed;
}

export function checkText(field: string, value: string | undefined, max = D.MAX_TEXT_LENGTH): void {
  if (value !== undefined && value.length > max) {
    fail("invalid_argument", `${field} is ${value.length} characters; the limit is ${max}`, field);
  }
}

/** `at` is the path of the limits object itself (`stages[0].limits`, `raise`). */
export function checkLimits(at: string, limits: StageLimits | undefined): void {
  if (!limits) return;
  const H = D.HARD_LIMITS;
  checkNumber(`${at}.maxAttempts`, limits.maxAttempts, H.maxAttempts);
  checkNumber(`${at}.maxDurationMs`, limits.maxDurationMs, H.maxDurationMs);
  checkNumber(`${at}.maxSteps`, limits.maxSteps, H.maxSteps);
  checkNumber(`${at}.maxCostUsd`, limits.maxCostUsd, H.maxCostUsd, false);
  checkNumber(`${at}.maxOutputTokens`, limits.maxOutputTokens, H.maxOutputTokens);
  checkNumber(`${at}.idleTimeoutMs`, limits.idleTimeoutMs, H.idleTimeoutMs);
  checkNumber(`${at}.wipLimit`, limits.wipLimit, H.wipLimit);
}

/** Validates a full stage or a patch merged onto one; returns the stage with its name trimmed. */
export function checkStage<T extends StageInput | StagePatch>(where: string, stage: T): T {
  const out = { ...stage };
  if (stage.name !== undefined) out.name = checkName(`${where}.name`, stage.name);
  checkText(`${where}.prompt`, stage.prompt);
  checkLimits(`${where}.limits`, stage.limits);
  if (stage.goals) {
    if (stage.goals.length > 100) fail("invalid_argument", `${where}.goals has ${stage.goals.length} entries; the limit is 100`, `${where}.goals`);
    stage.goals.forEach((g, i) => checkText(`${where}.goals[${i}]`, g, 2_000));
  }
  if (stage.deliverables) {
    if (stage.deliverables.length > D.MAX_DELIVERABLES) {
      fail("invalid_argument", `${where}.deliverables has ${stage.deliverables.length} entries; the limit is ${D.MAX_DELIVERABLES}`, `${where}.deliverables`);
    }
    const seen = new Set<string>();
    for (const [i, d] of stage.deliverables.entries()) {
      const at = `${where}.deliverables[${i}]`;
      const problems = deliverableProblems(d, at);
      // Each problem starts with the path of its field (`stages[0].deliverables[1].checks.minRows: ...`).
      if (problems.length) fail("invalid_argument", problems.join("; "), /^([\w.[\]]+): /.exec(problems[0]!)?.[1] ?? at);
      // A name the runtime could never upload would fail QA on every attempt.
      const nameProblem = artifactNameProblem(d.name);
      if (nameProblem) fail("invalid_argument", `${at}.name: deliverable ${nameProblem.replace(/^artifact name /, "name ")}; the runtime could not upload it`, `${at}.name`);
      if (seen.has(d.name)) fail("invalid_argument", `${at}.name: the stage names "${d.name}" twice; deliverable names must be unique`, `${at}.name`);
      seen.add(d.name);
    }
  }
  if (stage.allowedKsas) {
    for (const [i, k] of stage.allowedKsas.entries()) {
      if (!/^[a-z][a-zA-Z0-9_-]{0,63}$/.test(k)) {
        fail("invalid_argument", `${where}.allowedKsas[${i}] "${k}" is not a KSA name (letters, digits, - and _, starting with a lowercase letter)`, `${where}.allowedKsas[${i}]`);
      }
    }
  }
  if (stage.kind !== undefined && stage.kind !== "agent" && stage.deliverables?.length) {
    fail("invalid_argument", `${where}.deliverables: ${where} is a ${stage.kind} stage; only agent stages have deliverables`, `${where}.deliverables`);
  }
  return out;
}

export function checkConfig(patch: ConfigPatch): void {
  const H = D.HARD_LIMITS;
  checkNumber("heartbeatTimeoutMs", patch.heartbeatTimeoutMs, H.heartbeatTimeoutMs);
  checkNumber("provisionGraceMs", patch.provisionGraceMs, H.provisionGraceMs);
  checkNumber("defaultMaxAttempts", patch.defaultMaxAttempts, H.maxAttempts);
  checkNumber("defaultMaxDurationMs", patch.defaultMaxDurationMs, H.maxDurationMs);
  checkNumber("defaultIdleTimeoutMs", patch.defaultIdleTimeoutMs, H.idleTimeoutMs);
  checkNumber("maxEventBatch", patch.maxEventBatch, H.maxEventBatch);
  checkNumber("maxEventBytes", patch.maxEventBytes, H.maxEventBytes);
  checkNumber("maxArtifactBytes", patch.maxArtifactBytes, H.maxArtifactBytes);
  checkNumber("maxRunArtifacts", patch.maxRunArtifacts, H.maxRunArtifacts);
  checkNumber("maxRunArtifactBytes", patch.maxRunArtifactBytes, H.maxRunArtifactBytes);
  checkNumber("maxRunEvents", patch.maxRunEvents, H.maxRunEvents);
  checkNumber("maxArtifactVersionsPerName", patch.maxArtifactVersionsPerName, H.maxArtifactVersionsPerName);
  checkNumber("retention.eventsDays", patch.retention?.eventsDays, H.retentionDays);
  checkNumber("retention.supersededArtifactsDays", patch.retention?.supersededArtifactsDays, H.retentionDays);
  if (patch.prices) checkPrices(patch.prices);
  checkAppKsaNames("appKsas", patch.appKsas);
  const secretsProblem = patch.secrets ? secretNamesProblem(patch.secrets) : null;
  if (secretsProblem) fail("invalid_argument", secretsProblem, "secrets");
  checkRedact(patch.redact);
}

/**
 * `redact`: every entry is searched for (in ~13 encodings) in everything stored or sent, so the list
 * is bounded: at most MAX_REDACT_ENTRIES entries of 4..MAX_REDACT_ENTRY_CHARS characters (with the 50
 * `secrets` names, a 1 MiB text is redacted in ~50 ms).
 */
function checkRedact(redact: readonly string[] | undefined): void {
  if (redact === undefined) return;
  if (redact.length > D.MAX_REDACT_ENTRIES) {
    fail("invalid_argument", `redact has ${redact.length} entries; the limit is ${D.MAX_REDACT_ENTRIES} (list prefixes or whole secrets, not every variant)`, "redact");
  }
  for (const [i, r] of redact.entries()) {
    if (r.length < 4) fail("invalid_argument", `redact[${i}] must be at least 4 characters (got "${r}"); short strings would mangle every event`, `redact[${i}]`);
    if (r.length > D.MAX_REDACT_ENTRY_CHARS) {
      fail("invalid_argument", `redact[${i}] is ${r.length} characters; the limit is ${D.MAX_REDACT_ENTRY_CHARS} (a longer secret: put it in an environment variable and list its name in secrets)`, `redact[${i}]`);
    }
  }
}

/** A list's `limit`: absent means `def`; clamped to 1..`max`; a value that is not a whole number is refused. */
export function listLimit(value: number | undefined, def: number, max: number): number {
  if (value === undefined) return def;
  if (Number.isNaN(value) || (Number.isFinite(value) && !Number.isInteger(value))) {
    fail("invalid_argument", `limit must be a whole number, got ${value}`);
  }
  return Math.min(Math.max(1, value), max);
}
