/**
 * The invariants, checked against a stack: its sandboxes, the callback proxy's acknowledgements and
 * tokens, its logs, what the in-scenario monitor saw and the deployment's Convex-limit violations.
 */
import { describeViolation, type LimitViolation } from "../../convex/testkit/limits.js";
import { checkInvariants, scenario, type InvariantOptions } from "./invariants.js";
import type { ScenarioMonitor } from "./monitor.js";
import type { FaultStack } from "./stacks.js";

type Checkable = Pick<FaultStack, "t" | "live" | "callbacks"> & {
  monitor?: ScenarioMonitor;
  logs?: string[];
  /** The embedded deployment's limits checker: a function that exceeded a Convex limit is a violation. */
  limits?: { readonly violations: ReadonlyArray<LimitViolation> };
};

/** The checker's options for a stack: its sandboxes, the proxy's acknowledgements, the tokens it saw and its logs. */
export function stackOptions(fs: Checkable): InvariantOptions {
  const logs = fs.logs;
  return {
    live: fs.live,
    acked: (s) => fs.callbacks.acked.get(s),
    tokens: () => [...fs.callbacks.tokens.values()].map((w) => w.token),
    ...(logs ? { logs: () => logs } : {}),
  };
}

/**
 * Runs the checker for these cards and adds what the monitor saw during the scenario (stuck runs,
 * tokens accepted after the agent phase ended). Does not throw.
 */
export async function checkScenario(fs: Checkable, cardIds: string[] | undefined, extra: Partial<InvariantOptions> = {}, full = false) {
  if (fs.monitor) await fs.monitor.tick();
  const r = await checkInvariants(fs.t, { ...stackOptions(fs), ...(cardIds ? { cardIds } : {}), ...extra }, full);
  const seen = [...(fs.monitor?.violations(cardIds) ?? []), ...(fs.limits?.violations ?? []).map((v) => `[limits] ${describeViolation(v)}`)];
  for (const v of seen) {
    r.violations.push(v);
    const k = /^\[(\w+)\]/.exec(v)?.[1] ?? "?";
    r.byInvariant[k] = (r.byInvariant[k] ?? 0) + 1;
    r.checks++;
  }
  return r;
}

/** Checks every invariant for these cards (counting one scenario) and throws on a violation. */
export async function invariantsHold(fs: Checkable, cardIds: string[], extra: Partial<InvariantOptions> = {}) {
  scenario();
  const r = await checkScenario(fs, cardIds, extra);
  violated(r.violations);
  return r;
}

function violated(violations: string[]) {
  if (violations.length) throw new Error(`${violations.length} invariant violation(s):\n${violations.join("\n")}`);
}

/** The full check over everything the stack holds (end of a file; not a scenario). */
export async function everythingHolds(fs: Checkable, extra: Partial<InvariantOptions> = {}) {
  const r = await checkScenario(fs, undefined, { everyTable: true, ...extra }, true);
  violated(r.violations);
  return r;
}
