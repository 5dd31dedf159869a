/**
 * The scripted model: a deterministic, offline AI SDK language model (spec v4). It reads the task from
 * the system prompt and answers like an agent would — TypeScript that writes every deliverable through
 * the KSAs — so the whole pipeline runs with no network and no keys.
 *
 * Turn 0 writes all deliverables (and the plan, when `plan` is allowed); the next turn finishes. Card
 * context variables make the interesting cases reproducible:
 * - `scripted_skip`: deliverables to leave out on the first attempt (QA fails, the retry context names
 *   them, attempt 2 writes them);
 * - `scripted_delay_ms`: how long turn 0's code of the first attempt works before writing (to steer,
 *   kill or reap it; a retry does not wait);
 * - steering messages in an observation are acknowledged in the next reply.
 */
import type { LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from "@ai-sdk/provider";
import type { Deliverable } from "../shared/validators.js";
import { taskFromPrompt, type AgentTask } from "./task.js";

export function scriptedModel(): LanguageModelV4 {
  return {
    specificationVersion: "v4",
    provider: "lakitu",
    modelId: "scripted",
    supportedUrls: {},
    doGenerate: async (options) => generate(options),
    doStream: async () => {
      throw new Error("the scripted model does not stream; call generateText");
    },
  };
}

function generate(options: LanguageModelV4CallOptions): LanguageModelV4GenerateResult {
  const system = options.prompt.filter((m) => m.role === "system").map((m) => m.content).join("\n");
  const task = taskFromPrompt(system);
  const text = task ? reply(task, lastUserText(options)) : "I have no task to work on.";
  const inputTokens = Math.ceil(JSON.stringify(options.prompt).length / 4);
  const outputTokens = Math.ceil(text.length / 4);
  return {
    content: [{ type: "text", text }],
    finishReason: { unified: "stop", raw: "stop" },
    usage: {
      inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
    },
    warnings: [],
  };
}

function lastUserText(options: LanguageModelV4CallOptions): string {
  for (let i = options.prompt.length - 1; i >= 0; i--) {
    const m = options.prompt[i];
    if (m.role === "user") return m.content.map((p) => (p.type === "text" ? p.text : "")).join("");
  }
  return "";
}

/** The reply for a turn: code while something is left to write, then a summary. */
export function reply(task: AgentTask, observation: string): string {
  const skip = task.attempt === 1 && !task.retryContext ? skipped(task) : new Set<string>();
  const todo = task.stage.deliverables.filter((d) => !skip.has(d.name));
  if (task.step === 0) return code(task, todo, true);
  const missing = todo.filter((d) => observation.includes(d.name) && /missing/i.test(observation));
  if (missing.length) return code(task, missing, false);
  const left = task.stage.deliverables.filter((d) => skip.has(d.name)).map((d) => d.name);
  const steer = [...observation.matchAll(/Message from [^:\n]*: ([^\n]*)/g)].map((m) => m[1]);
  if (steer.length) return `Noted the steering: ${steer.join(" / ")}. Done with ${todo.map((d) => d.name).join(", ") || "no files"}.`;
  return left.length
    ? `I could not produce ${left.join(", ")} in this attempt. Wrote: ${todo.map((d) => d.name).join(", ") || "nothing"}.`
    : `Done. Wrote ${todo.map((d) => d.name).join(", ") || "no files"} for "${task.card.title}".`;
}

function skipped(task: AgentTask): Set<string> {
  const raw = task.card.context?.scripted_skip ?? "";
  return new Set(raw.split(",").map((s) => s.trim()).filter(Boolean));
}

function code(task: AgentTask, deliverables: Deliverable[], withPlan: boolean): string {
  const allowed = new Set(task.stage.allowedKsas);
  const imports = ["artifacts", "pdf", "plan", "file"].filter((k) => allowed.has(k));
  const lines: string[] = [];
  if (imports.length) lines.push(`import { ${imports.join(", ")} } from "lakitu/ksa";`, "");
  const delay = Number(task.card.context?.scripted_delay_ms ?? 0);
  if (withPlan && delay > 0 && task.attempt === 1) lines.push(`await new Promise((resolve) => setTimeout(resolve, ${Math.min(delay, 3_600_000)}));`);
  if (withPlan && allowed.has("plan")) {
    for (const g of task.stage.goals) lines.push(`await plan.add({ title: ${JSON.stringify(g)}, kind: "goal" });`);
    for (const d of deliverables) lines.push(`await plan.add({ title: ${JSON.stringify(`write ${d.name}`)}, kind: "deliverable" });`);
  }
  for (const d of deliverables) lines.push(...writeLines(task, d, allowed), `console.log(${JSON.stringify(`wrote ${d.name}`)});`);
  return ["I will write the deliverables now.", "", "```ts", ...lines, "```"].join("\n");
}

function writeLines(task: AgentTask, d: Deliverable, allowed: Set<string>): string[] {
  const out = `${task.outputDir}/${d.name}`;
  if (d.type === "pdf") {
    if (allowed.has("pdf")) return [`await pdf.fromMarkdown({ markdown: ${JSON.stringify(markdown(task, d))}, path: ${JSON.stringify(out)}, title: ${JSON.stringify(task.card.title)} });`];
    return [`throw new Error("the pdf KSA is not allowed in this stage, so ${d.name} cannot be written");`];
  }
  if (d.type === "png" || d.type === "jpeg") {
    const b64 = d.type === "png" ? PNG_1X1 : JPEG_1X1;
    return save(task, d.name, JSON.stringify(b64), allowed, "base64");
  }
  return save(task, d.name, JSON.stringify(content(task, d)), allowed);
}

function save(task: AgentTask, name: string, literal: string, allowed: Set<string>, encoding?: "base64"): string[] {
  if (allowed.has("artifacts")) {
    return [`await artifacts.save({ name: ${JSON.stringify(name)}, content: ${literal}${encoding ? `, encoding: "${encoding}"` : ""} });`];
  }
  if (allowed.has("file") && !encoding) return [`await file.write({ path: ${JSON.stringify(`${task.outputDir}/${name}`)}, content: ${literal} });`];
  return [`throw new Error("no KSA allowed in this stage can write ${name}");`];
}

/** Deterministic text content for a deliverable, long enough for its word and byte bounds. */
export function content(task: AgentTask, d: Deliverable): string {
  switch (d.type) {
    case "json":
      return JSON.stringify(fromSchema(d.checks?.jsonSchema ? JSON.parse(d.checks.jsonSchema) : undefined, task), null, 2) + "\n";
    case "csv":
      return ["item,detail", ...task.stage.goals.map((g, i) => `${i + 1},"${g.replace(/"/g, '""')}"`), `${task.stage.goals.length + 1},"${task.card.title.replace(/"/g, '""')}"`].join("\n") + "\n";
    case "html":
      return `<!doctype html>\n<html><body><h1>${escapeHtml(task.card.title)}</h1>\n<p>${escapeHtml(prose(task, d))}</p></body></html>\n`;
    default:
      return markdown(task, d);
  }
}

function markdown(task: AgentTask, d: Deliverable): string {
  return [`# ${task.card.title}: ${d.name}`, "", `Stage: ${task.stage.name}.`, "", "## Goals", "", ...task.stage.goals.map((g) => `- ${g}`), "", "## Notes", "", prose(task, d), ""].join("\n");
}

const SENTENCE = "This section was written by the scripted model from the stage goals and the card, so the run is reproducible offline.";

function prose(task: AgentTask, d: Deliverable): string {
  const min = Math.max(d.checks?.minWords ?? 0, 40);
  const words: string[] = [];
  let i = 0;
  const seed = `${task.card.title}. ${task.stage.goals.join(". ")}.`.split(/\s+/).filter(Boolean);
  while (words.length < min) words.push(...(i++ % 2 === 0 ? seed : SENTENCE.split(" ")));
  const capped = d.checks?.maxWords !== undefined ? words.slice(0, d.checks.maxWords - 30) : words;
  return capped.join(" ");
}

/** A value satisfying a JSON Schema of the subset QA supports (type, properties, required, items, enum...). */
export function fromSchema(schema: any, task: AgentTask, depth = 0): unknown {
  if (!schema || typeof schema !== "object" || depth > 8) return { title: task.card.title, goals: task.stage.goals };
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(schema.properties ?? {})) out[k] = fromSchema(s, task, depth + 1);
      return out;
    }
    case "array": {
      const n = Math.max(schema.minItems ?? 1, 1);
      return Array.from({ length: Math.min(n, schema.maxItems ?? n) }, () => fromSchema(schema.items, task, depth + 1));
    }
    case "string": {
      const base = task.card.title;
      const min = schema.minLength ?? 0;
      return (base.length >= min ? base : base.padEnd(min, ".")).slice(0, schema.maxLength ?? Infinity);
    }
    case "integer":
    case "number":
      return Math.max(schema.minimum ?? 1, Math.min(schema.maximum ?? 1, 1));
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return { title: task.card.title };
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const JPEG_1X1 = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=";
