/** What the per-check runners read of one present deliverable whose type check passed. */
import type { Deliverable, DeliverableChecks } from "../validators.js";
import type { Inspection } from "./content.js";

/** Records one check's outcome; checks are recorded in the order they run. */
export type Push = (check: string, ok: boolean, reason: string) => void;

export interface CheckInput {
  d: Deliverable;
  c: DeliverableChecks;
  /** The passed type check: the decoded text, parsed JSON or CSV shape where the type has one. */
  inspection: Extract<Inspection, { ok: true }>;
  bytes: Uint8Array;
  push: Push;
}
