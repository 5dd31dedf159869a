/**
 * Fault-injection harness: the embedded default (component on convex-test with real timers, local
 * bubblewrap sandboxes, the E2B provider, the runtime, the scripted model) plus the means to break it.
 * The module the fault tests import; it re-exports the parts, each in a file of its own:
 *
 * - `stacks.ts`: `faultStack` (the embedded default) and `simStack` (the test provider, the test
 *   playing the runtime).
 * - `callbackProxy.ts`: `CallbackProxy`, a loopback HTTP proxy between the runtime and the component
 *   (the run's `callbackUrl`), misbehaving per profile and route: refuse, reset, lose the answer, delay,
 *   duplicate, split-and-reorder, replay later, hold until released, go down and come back.
 * - `e2bFaultProxy.ts`: `E2bFaultProxy`, a loopback HTTP proxy between the E2B SDK (in the provider
 *   action) and the local sandbox host, answering 429/5xx on create, on start (the runtime command), on
 *   kill or on status, or holding a create until released.
 * - `actionCalls.ts`: `actionCalls`, a hook on convex-test's syscall layer that makes an action's
 *   `ctx.runMutation(...)` fail (before the mutation runs, or after it committed: the answer is lost) or
 *   wait, as a deployment restart or a transient failure does to a running action.
 * - `checks.ts`: the invariants checked against a stack (`invariantsHold`, `everythingHolds`).
 * - `queries.ts`: boards, cards, runs, transitions, events, the workflow journal and sessions.
 * - `processes.ts`: a run's runtime pids on the host, and whether a pid lives.
 * - `waiting.ts`: `waitFor`, `sleep`, `gate`; `rng.ts`: a seeded pseudo-random sequence.
 */
export { api } from "../../convex/component/_generated/api.js";
export { waitFor, sleep, gate, type Gate } from "./waiting.js";
export { faultStack, simStack, type T, type FaultStack, type FaultStackOptions, type SimStack } from "./stacks.js";
export { board, addCard, card, run, runsOf, transitionsOf, movedFrom, settle, firstEvent, journal, sessionsOfRun } from "./queries.js";
export { runtimePids, pidAlive } from "./processes.js";
export { CallbackProxy, type Route, type Fault, type Request, type Answer, type Script, type Tap } from "./callbackProxy.js";
export { rng } from "./rng.js";
export { E2bFaultProxy, type E2bOp } from "./e2bFaultProxy.js";
export { actionCalls } from "./actionCalls.js";
export { stackOptions, checkScenario, invariantsHold, everythingHolds } from "./checks.js";
