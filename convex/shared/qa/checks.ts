/**
 * Running the checks: one deliverable against its artifact (present, non_empty, type, min_bytes,
 * max_bytes, then the text and format checks), and the report over all deliverables.
 */
import type { Deliverable, QaCheck, QaReport } from "../validators.js";
import type { QaArtifact } from "./artifact.js";
import type { Push } from "./checkInput.js";
import { CSV_DELIMITERS, MAX_SUMMARY_CHARS } from "./constants.js";
import { inspectContent, type Inspection } from "./content.js";
import { runFormatChecks } from "./formatChecks.js";
import { cap, plural } from "./text.js";
import { runTextChecks } from "./textChecks.js";

/** Runs every check of a produced deliverable, pushing each result in the documented order. */
function checkOne(d: Deliverable, artifact: QaArtifact, push: Push): void {
  const bytes = artifact.bytes ?? new Uint8Array(0);
  const size = typeof artifact.size === "number" && Number.isFinite(artifact.size) && artifact.size >= 0 ? artifact.size : bytes.length;
  const c = d.checks ?? {};

  push("present", true, `produced (${plural(size, "byte")})`);

  if (size === 0) {
    push("non_empty", false, "file is empty (0 bytes)");
    return; // later checks omitted: see the header comment of convex/shared/qa.ts
  }
  push("non_empty", true, `${plural(size, "byte")}`);

  let inspection: Inspection;
  if (artifact.unread !== undefined) {
    inspection = d.type === "file" ? { ok: true, reason: `${plural(size, "byte")}; content not read (${artifact.unread})` } : { ok: false, reason: artifact.unread };
  } else if (artifact.sniffed !== undefined) {
    const sniff = inspectContent(d.type, bytes, ",");
    inspection = { ...sniff, reason: `${sniff.reason} (sniffed from ${artifact.sniffed} of ${plural(size, "byte")})` };
  } else if (bytes.length < size) {
    inspection = {
      ok: false,
      reason: `only ${bytes.length} of ${plural(size, "byte")} were available to check; cannot verify the content`,
    };
  } else {
    inspection = inspectContent(d.type, bytes, typeof c.delimiter === "string" && CSV_DELIMITERS.includes(c.delimiter) ? c.delimiter : ",");
  }
  push("type", inspection.ok, inspection.reason);
  if (!inspection.ok) return; // later checks omitted: see the header comment of convex/shared/qa.ts

  if (c.minBytes !== undefined) {
    const ok = size >= c.minBytes;
    push("min_bytes", ok, ok ? `${plural(size, "byte")} (min ${c.minBytes})` : `${plural(size, "byte")}, need at least ${c.minBytes}`);
  }
  if (c.maxBytes !== undefined) {
    const ok = size <= c.maxBytes;
    push("max_bytes", ok, ok ? `${plural(size, "byte")} (max ${c.maxBytes})` : `${plural(size, "byte")}, allowed at most ${c.maxBytes}`);
  }

  runTextChecks({ d, c, inspection, bytes, push });
  runFormatChecks({ d, c, inspection, bytes, push });
}

/** The checks of one deliverable against its artifact (undefined: not produced). */
export type DeliverableResult = { deliverable: string; checks: QaCheck[]; outcome: "passed" | "missing" | "failed"; firstFailure?: string };

/**
 * Checks one deliverable. QA calls it once per deliverable with only that artifact's bytes loaded, so
 * a run's deliverables are never in memory together (convex/model/qaRead.ts).
 */
export function checkDeliverable(d: Deliverable, artifact: QaArtifact | undefined): DeliverableResult {
  if (!artifact) {
    return d.required === false
      ? { deliverable: d.name, checks: [{ deliverable: d.name, check: "present", ok: true, reason: "optional, not produced" }], outcome: "passed" }
      : { deliverable: d.name, checks: [{ deliverable: d.name, check: "present", ok: false, reason: "required, not produced" }], outcome: "missing" };
  }
  const checks: QaCheck[] = [];
  let firstFailure: string | undefined;
  checkOne(d, artifact, (check, checkOk, reason) => {
    const r = cap(reason);
    checks.push({ deliverable: d.name, check, ok: checkOk, reason: r });
    if (!checkOk && firstFailure === undefined) firstFailure = `${check}: ${r}`;
  });
  return { deliverable: d.name, checks, outcome: firstFailure === undefined ? "passed" : "failed", firstFailure };
}

/** The report of the deliverables' results (in declaration order), given the names of every artifact produced. */
export function qaReport(results: DeliverableResult[], producedNames: string[]): QaReport {
  const produced = [...new Set(producedNames)].sort();
  const checks: QaCheck[] = [];
  const missing: string[] = [];
  const failed: string[] = [];
  const firstFailure = new Map<string, string>();
  let passed = 0;
  for (const r of results) {
    checks.push(...r.checks);
    if (r.outcome === "passed") passed++;
    else if (r.outcome === "missing") {
      if (!missing.includes(r.deliverable)) missing.push(r.deliverable);
    } else {
      if (!firstFailure.has(r.deliverable)) firstFailure.set(r.deliverable, r.firstFailure ?? "");
      if (!failed.includes(r.deliverable)) failed.push(r.deliverable);
    }
  }

  const total = results.length;
  let summary: string;
  if (total === 0) {
    summary = `no deliverables declared; ${plural(produced.length, "artifact")} produced`;
  } else {
    summary = `${passed}/${total} ${total === 1 ? "deliverable" : "deliverables"} passed`;
    if (missing.length > 0) summary += `; missing: ${missing.join(", ")}`;
    if (failed.length > 0) {
      summary += `; failed: ${failed.map((f) => `${f} (${cap(firstFailure.get(f) ?? "", 160)})`).join(", ")}`;
    }
  }

  return {
    ok: missing.length === 0 && failed.length === 0,
    checks,
    missing,
    failed,
    produced,
    summary: cap(summary, MAX_SUMMARY_CHARS),
  };
}

/** Runs every check of every deliverable against the produced artifacts and returns the report. */
export function checkDeliverables(deliverables: Deliverable[], artifacts: QaArtifact[]): QaReport {
  const byName = new Map<string, QaArtifact>();
  for (const a of artifacts) if (!byName.has(a.name)) byName.set(a.name, a);
  return qaReport(deliverables.map((d) => checkDeliverable(d, byName.get(d.name))), [...byName.keys()]);
}
