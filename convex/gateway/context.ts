/**
 * The bounded model context of a turn (README "Models"). The card keeps one thread (its transcript),
 * but a turn sends only:
 * - the current stage's part of it: each prompt starts with a marker line naming the stage, and
 *   history stops at the newest prompt of another stage (retries and resumes of the same stage
 *   continue; a new stage starts clean — the retry context and the card cross in the system prompt);
 * - at most MODEL_CONTEXT_MESSAGES recent messages, newest first until MODEL_CONTEXT_HISTORY_CHARS;
 * - the observation cut to MAX_MODEL_OBSERVATION_CHARS (its head and tail kept).
 */
import type { ModelMessage } from "ai";
import { MAX_MODEL_OBSERVATION_CHARS, MODEL_CONTEXT_HISTORY_CHARS } from "../shared/defaults.js";

const MARKER = /^\[lakitu stage #([^\s\]]{1,64}) /;

/** The first line of every prompt of a stage's turns. */
export function stageMarker(stageId: string, stageName: string, attempt: number): string {
  return `[lakitu stage #${stageId} ${JSON.stringify(stageName.slice(0, 80))}, attempt ${attempt}]`;
}

/** `text` cut to `max` characters, keeping its head and tail around a note of what was cut. */
export function capObservation(text: string, max = MAX_MODEL_OBSERVATION_CHARS): string {
  if (text.length <= max) return text;
  const note = `\n[… ${text.length - max} characters cut: an observation sent to the model is at most ${max} characters …]\n`;
  const keep = Math.max(0, max - note.length);
  const head = Math.ceil(keep * 0.6);
  return text.slice(0, head) + note + text.slice(text.length - (keep - head));
}

/** The prompt of a turn: the stage marker, then the capped observation. */
export function turnPrompt(marker: string, observation: string): string {
  return `${marker}\n${capObservation(observation)}`;
}

function textOf(m: ModelMessage): string {
  return typeof m.content === "string" ? m.content : JSON.stringify(m.content);
}

/**
 * The history a turn of stage `stageId` sees, from the thread's recent messages (oldest first):
 * the newest run of messages of this stage, within `budgetChars`, starting with a prompt.
 */
export function stageHistory(recent: readonly ModelMessage[], stageId: string, budgetChars = MODEL_CONTEXT_HISTORY_CHARS): ModelMessage[] {
  const kept: ModelMessage[] = [];
  let used = 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    const m = recent[i];
    const text = textOf(m);
    if (m.role === "user" && MARKER.exec(text)?.[1] !== stageId) break; // another stage (or unmarked): stop
    used += text.length;
    if (used > budgetChars) break;
    kept.push(m);
  }
  kept.reverse();
  // Never start mid-exchange: providers expect the history to open with a prompt.
  while (kept.length > 0 && kept[0].role !== "user") kept.shift();
  return kept;
}
