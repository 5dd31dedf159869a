/**
 * The agent loop: observation → model (through the component's /llm) → code → execution → next
 * observation. It ends when the model answers without code (and the required deliverables are there,
 * or no steps remain), at the deadline, at a `stop` from the gateway (which counts the steps and
 * answers budget_exceeded when they are used up), or when the run
 * stops being ours (the signal).
 */
import { AbortedError, GiveUpError, LakituHttpError, RunOverError, type InboxMessage, type LakituClient } from "./client.js";
import type { Task } from "./task.js";
import { extractCode } from "./codeBlock.js";
import { missingDeliverables } from "./deliverables.js";
import type { Executor } from "./executor.js";
import { missingObservation, OPENING, stepObservation, withSteering } from "./observation.js";
import { capBytes, capText, firstLines } from "./redact.js";
import type { EventReporter } from "./reporter.js";

/** Why the loop was stopped from outside. */
export type StopReason = { kind: "canceled" | "over"; message: string };

export type AgentOutcome =
  | { status: "succeeded"; summary: string; steps: number }
  | { status: "failed"; error: string; steps: number }
  | { status: "canceled"; error: string; steps: number }
  /** The run is no longer ours (token revoked, stale generation, run ended elsewhere): report nothing. */
  | { status: "over"; error: string; steps: number };

export type AgentDeps = {
  client: LakituClient;
  reporter: EventReporter;
  executor: Executor;
  task: Task;
  /** Absolute path of the output folder. */
  outputDir: string;
  /** Aborted with a `StopReason` as its reason. */
  signal: AbortSignal;
  /** Called after each executed step (the runtime uploads new files in the background). */
  afterStep?: () => void;
  /** Awaited before each model turn is asked for (the previous step's uploads). */
  beforeTurn?: () => Promise<unknown>;
  /** Cap on each observation sent to the model, in bytes. */
  maxObservationBytes: number;
};

/** Consecutive answers without code that are answered with "deliverables missing" before finishing anyway. */
export const MAX_MISSING_NUDGES = 3;

export async function runAgent(d: AgentDeps): Promise<AgentOutcome> {
  const { client, reporter, executor, task } = d;
  // The component may move the deadline (heartbeats carry it); the client holds the current one.
  const deadline = () => client.getDeadline();
  const maxSteps = task.limits.maxSteps;
  let inboxSeq = -1;
  let nudges = 0;
  let observation = OPENING;

  const stopped = (steps: number): AgentOutcome | undefined => {
    if (!d.signal.aborted) return undefined;
    const r = d.signal.reason as StopReason | undefined;
    return r?.kind === "over" ? { status: "over", error: r.message, steps } : { status: "canceled", error: r?.message ?? "stopped", steps };
  };
  const fromError = (e: unknown, steps: number, what: string): AgentOutcome => {
    if (e instanceof AbortedError || d.signal.aborted) return stopped(steps) ?? { status: "canceled", error: "stopped", steps };
    if (e instanceof RunOverError) return { status: "over", error: e.message, steps };
    if (e instanceof GiveUpError) return { status: "failed", error: `deadline: ${e.message}`, steps };
    if (e instanceof LakituHttpError) return { status: "failed", error: `${what}: ${e.message}`, steps };
    throw e;
  };
  /** New steering messages; acknowledges earlier ones. A failure here costs only the messages' delay. */
  const pullInbox = async (): Promise<InboxMessage[]> => {
    try {
      const { messages } = await client.inbox(inboxSeq, { signal: d.signal, giveUpAt: Math.min(deadline(), Date.now() + 10_000) });
      const fresh = messages.filter((m) => m.seq > inboxSeq).sort((a, b) => a.seq - b.seq);
      for (const m of fresh) {
        inboxSeq = Math.max(inboxSeq, m.seq);
        reporter.emit("steer", m.text, { data: { seq: m.seq, author: m.author } });
      }
      return fresh;
    } catch (e) {
      if (e instanceof RunOverError || e instanceof AbortedError) throw e;
      reporter.emit("error", `could not read the inbox: ${(e as Error).message}`, { level: "warn" });
      return [];
    }
  };

  for (let step = 0; ; step++) {
    const early = stopped(step);
    if (early) return early;
    // No step limit here: the gateway counts steps and answers budget_exceeded when they are used up,
    // so the component (not this process) decides, and a run that finished in its last step is checked.
    // Nor a duration limit: past the deadline the gateway answers budget_exceeded (maxDurationMs).

    let reply: string;
    try {
      const messages = await pullInbox();
      observation = capBytes(withSteering(observation, messages), d.maxObservationBytes);
      await d.beforeTurn?.();
      const r = await client.llm(step, observation, { signal: d.signal });
      if (r.stop) {
        reporter.emit("status", `the model gateway stopped the run: ${r.stop}`, { level: "warn", data: { step, stop: r.stop } });
        // "run_ended": the run is already over (canceled, timed out); a report would change nothing.
        return { status: r.stop === "run_ended" ? "over" : "failed", error: r.stop, steps: step };
      }
      if (typeof r.reply !== "string") return { status: "failed", error: "the model gateway answered without a reply", steps: step };
      reply = r.reply;
    } catch (e) {
      return fromError(e, step, "the model gateway failed");
    }

    const block = extractCode(reply);
    reporter.emit("step", capText(block ? block.prose : reply, 4000), { data: { step, hasCode: block !== null } });

    if (!block) {
      let missing: Awaited<ReturnType<typeof missingDeliverables>> = [];
      let messages: InboxMessage[] = [];
      try {
        missing = await missingDeliverables(d.outputDir, task.stage.deliverables);
        messages = await pullInbox();
      } catch (e) {
        return fromError(e, step + 1, "inbox");
      }
      const stepsLeft = step + 1 < maxSteps && Date.now() < deadline();
      if (messages.length > 0 && stepsLeft) {
        // Someone wrote while the model was wrapping up: let it answer rather than end the run.
        observation = withSteering("You answered without code.", messages);
        continue;
      }
      if (missing.length > 0 && stepsLeft && nudges < MAX_MISSING_NUDGES) {
        nudges++;
        observation = missingObservation(task.outputDir, missing);
        reporter.emit("status", `required deliverables missing: ${missing.map((m) => m.name).join(", ")}`, { level: "warn", data: { step, missing } });
        continue;
      }
      return { status: "succeeded", summary: capText(reply.trim(), 4000), steps: step + 1 };
    }

    nudges = 0;
    reporter.emit("code", block.code, { data: { step, lang: block.lang } });
    // A step never runs past the run's deadline.
    const result = await executor.run(block.code, { step, timeoutMs: Math.max(1, deadline() - Date.now()), signal: d.signal });
    d.afterStep?.();
    reporter.emit("output", result.output, {
      data: { step, ms: Math.round(result.durationMs), bytes: result.outputBytes, truncatedBytes: result.truncatedBytes },
    });
    if (result.error) {
      reporter.emit("error", firstLines(result.error.stack ?? result.error.message, 12), { level: "error", data: { step, kind: result.error.kind } });
    }
    const after = stopped(step + 1);
    if (after) return after;
    observation = stepObservation(step, result);
  }
}
