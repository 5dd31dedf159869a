/** What the model reads after each step: the step's result, steering messages, missing deliverables. */
import type { InboxMessage } from "./client.js";
import type { StepResult } from "./executor.js";

/** Step 0's observation: the component builds the system prompt from the task. */
export const OPENING = "Begin.";

export function stepObservation(step: number, r: StepResult): string {
  const ms = Math.round(r.durationMs);
  const parts: string[] = [];
  const e = r.error;
  if (!e) parts.push(`[step ${step}] ran in ${ms} ms.`);
  else if (e.kind === "syntax") parts.push(`[step ${step}] your code did not compile, nothing ran.`);
  else if (e.kind === "timeout") parts.push(`[step ${step}] ${e.message}.`);
  else if (e.kind === "canceled") parts.push(`[step ${step}] ${e.message}.`);
  else parts.push(`[step ${step}] failed after ${ms} ms.`);
  if (e?.kind !== "syntax") parts.push(r.output.length > 0 ? `Output:\n${r.output.replace(/\n$/, "")}` : "Output: (none)");
  // A stack starts with its own "Name: message" line; without one the message stands alone.
  if (e && e.kind !== "timeout" && e.kind !== "canceled") parts.push(`Error:\n${e.stack ?? e.message}`);
  return parts.join("\n");
}

export function steeringText(messages: InboxMessage[]): string {
  return messages.map((m) => `Message from ${m.author?.trim() || "the user"}: ${m.text}`).join("\n\n");
}

/** Appends steering messages, clearly set apart, to an observation. */
export function withSteering(observation: string, messages: InboxMessage[]): string {
  if (messages.length === 0) return observation;
  return `${observation}\n\n--- steering ---\n${steeringText(messages)}`;
}

export function missingObservation(outputDir: string, missing: Array<{ name: string; problem: "missing" | "empty" }>): string {
  const list = missing.map((m) => `- ${m.name} (${m.problem})`).join("\n");
  return (
    `You answered without code, which ends the run, but required deliverables are missing from the output folder (${outputDir}/):\n${list}\n` +
    "Write them (answer with a code block), then answer without code to finish."
  );
}
