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
 *
 * The files it writes satisfy the declared checks it can: JSON built from the JSON Schema, CSV with the
 * declared columns, delimiter and a row count within minRows..maxRows, markdown with the required
 * headings within the word bounds, text with the `contains` strings and without the `notContains`
 * ones, a PDF long enough for minPages. What it cannot satisfy (a regex, image dimensions: images are
 * 1x1 placeholders) is listed in the text of the step that writes the files.
 */
import type { LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from "@ai-sdk/provider";
import { checkDeliverables } from "../shared/qa.js";
import type { Deliverable } from "../shared/validators.js";
import { taskFromPrompt, type AgentTask } from "./task.js";
import { hostileReply } from "./scriptedHostile.js";

/** `normal`: the helpful agent above. `hostile` (`scripted/hostile`): attacks its sandbox (scriptedHostile.ts). */
export type ScriptedMode = "normal" | "hostile";

/** What the hostile mode was sent (the prompts, as JSON), newest last: the "model traffic" a fault test checks. Bounded. */
export const hostilePrompts: string[] = [];

export function scriptedModel(mode: ScriptedMode = "normal"): LanguageModelV4 {
  return {
    specificationVersion: "v4",
    provider: "lakitu",
    modelId: mode === "hostile" ? "scripted/hostile" : "scripted",
    supportedUrls: {},
    doGenerate: async (options) => generate(options, mode),
    doStream: async () => {
      throw new Error("the scripted model does not stream; call generateText");
    },
  };
}

function generate(options: LanguageModelV4CallOptions, mode: ScriptedMode): LanguageModelV4GenerateResult {
  const system = options.prompt.filter((m) => m.role === "system").map((m) => m.content).join("\n");
  const task = taskFromPrompt(system);
  if (mode === "hostile") {
    hostilePrompts.push(JSON.stringify(options.prompt));
    if (hostilePrompts.length > 50) hostilePrompts.shift();
  }
  const text = !task ? "I have no task to work on." : mode === "hostile" ? hostile(task, lastUserText(options)) : reply(task, lastUserText(options));
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
  // The author part is bounded: unbounded, a line of repeated "Message from " took quadratic time.
  const steer = [...observation.matchAll(/Message from [^:\n]{0,200}: ([^\n]*)/g)].map((m) => m[1]);
  if (steer.length) return `Noted the steering: ${steer.join(" / ")}. Done with ${todo.map((d) => d.name).join(", ") || "no files"}.`;
  return left.length
    ? `I could not produce ${left.join(", ")} in this attempt. Wrote: ${todo.map((d) => d.name).join(", ") || "nothing"}.`
    : `Done. Wrote ${todo.map((d) => d.name).join(", ") || "no files"} for "${task.card.title}".`;
}

/** The hostile reply, with the lines that write every deliverable as the normal mode would. */
function hostile(task: AgentTask, observation: string): string {
  const allowed = new Set(task.stage.allowedKsas);
  return hostileReply(task, observation, task.stage.deliverables.flatMap((d) => writeLines(task, d, allowed)));
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
  const unmet = deliverables.flatMap((d) => unmetChecks(task, d));
  const note = unmet.length
    ? [
        "",
        "Some declared checks are beyond what I can produce (I cannot invert a regular expression or draw a larger image), so these will fail:",
        ...unmet.map((u) => `- ${u}`),
      ]
    : [];
  return ["I will write the deliverables now.", ...note, "", "```ts", ...lines, "```"].join("\n");
}

/**
 * The declared checks what this model writes for `d` would fail, found by running QA on the content
 * itself (a PDF is rendered by the runtime, so only its page bound is judged here).
 */
export function unmetChecks(task: AgentTask, d: Deliverable): string[] {
  if (d.type === "pdf") {
    const want = d.checks?.minPages ?? 0;
    return want > MAX_PDF_PAGES ? [`${d.name} min_pages: I write at most ${MAX_PDF_PAGES} pages, minPages asks for ${want}`] : [];
  }
  if (bigFileCode(d)) return [];
  const bytes = d.type === "png" || d.type === "jpeg" ? base64Bytes(d.type === "png" ? PNG_1X1 : JPEG_1X1) : new TextEncoder().encode(content(task, d));
  const report = checkDeliverables([d], [{ name: d.name, size: bytes.length, bytes }]);
  return report.checks.filter((c) => !c.ok).map((c) => `${d.name} ${c.check}: ${c.reason}`);
}

function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
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
  const big = bigFileCode(d);
  if (big) return save(task, d.name, big, allowed);
  return save(task, d.name, JSON.stringify(content(task, d)), allowed);
}

/** Files are written bigger than this by code (`"…".repeat(n)`), not as a literal in the reply. */
const BIG_FILE_BYTES = 64 * 1024;

/** For a `file`/`text` deliverable with a large `minBytes` (uploads at production sizes): code that builds it. */
function bigFileCode(d: Deliverable): string | null {
  const min = d.checks?.minBytes ?? 0;
  if ((d.type !== "file" && d.type !== "text") || min <= BIG_FILE_BYTES) return null;
  const line = "the quick brown otter jumps over the lazy kelp\n";
  return `${JSON.stringify(line)}.repeat(${Math.ceil(min / line.length)})`;
}

function save(task: AgentTask, name: string, literal: string, allowed: Set<string>, encoding?: "base64"): string[] {
  if (allowed.has("artifacts")) {
    return [`await artifacts.save({ name: ${JSON.stringify(name)}, content: ${literal}${encoding ? `, encoding: "${encoding}"` : ""} });`];
  }
  if (allowed.has("file") && !encoding) return [`await file.write({ path: ${JSON.stringify(`${task.outputDir}/${name}`)}, content: ${literal} });`];
  return [`throw new Error("no KSA allowed in this stage can write ${name}");`];
}

/** Deterministic text content for a deliverable, written to satisfy its declared checks where it can. */
export function content(task: AgentTask, d: Deliverable): string {
  const c = d.checks ?? {};
  switch (d.type) {
    case "json": {
      let schema: unknown;
      try {
        schema = c.jsonSchema ? JSON.parse(c.jsonSchema) : undefined;
      } catch {
        schema = undefined;
      }
      return JSON.stringify(fromSchema(schema, task), null, 2) + "\n";
    }
    case "csv":
      return csv(task, d);
    case "html": {
      // The `contains` strings go in verbatim: QA looks for them in the raw HTML.
      const extra = (c.contains ?? []).map((x) => `<p>${x}</p>`).join("\n");
      return `<!doctype html>\n<html><body><h1>${escapeHtml(scrub(task.card.title, d))}</h1>\n<p>${escapeHtml(prose(task, d, Math.max(c.minWords ?? 0, 40)))}</p>${extra ? `\n${extra}` : ""}</body></html>\n`;
    }
    default:
      return markdown(task, d);
  }
}

/** Removes the strings `checks.notContains` forbids from generated text (bounded passes). */
function scrub(s: string, d: Deliverable): string {
  const banned = (d.checks?.notContains ?? []).filter((b) => b !== "");
  for (let pass = 0; pass < 5 && banned.some((b) => s.includes(b)); pass++) for (const b of banned) s = s.split(b).join("");
  return s;
}

function wordCount(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

/**
 * Markdown (also used for text and as the PDF source): title, the required headings, the goals, the
 * `contains` strings and prose sized so the whole text lands within minWords..maxWords. When the bounds
 * are tight, optional parts are dropped, richest variant first.
 */
function markdown(task: AgentTask, d: Deliverable): string {
  const c = d.checks ?? {};
  const clean = (s: string) => scrub(s, d);
  const required = (c.headings ?? []).map((h) => h.trim()).filter(Boolean);
  const requiredSections = required.flatMap((h) => [`## ${h}`, ""]);
  const contains = (c.contains ?? []).filter((x) => x !== "");
  const containsLines = contains.length ? [...contains, ""] : [];
  const goals = task.stage.goals.map((g) => `- ${clean(g)}`);
  const min = c.minWords ?? 0;
  const max = c.maxWords ?? Infinity;
  const variants: string[][][] = [
    // [before-prose parts, after]
    [[`# ${clean(`${task.card.title}: ${d.name}`)}`, "", clean(`Stage: ${task.stage.name}.`), "", ...requiredSections, ...(goals.length ? ["## Goals", "", ...goals, ""] : []), ...containsLines, "## Notes", ""]],
    [[`# ${clean(task.card.title) || "Report"}`, "", ...requiredSections, ...containsLines, "## Notes", ""]],
    [[...requiredSections, ...containsLines]],
  ];
  let best = "";
  for (const [head] of variants) {
    const base = wordCount(head.join("\n"));
    if (base > max) continue;
    const want = Math.min(Math.max(min, base + 40), max) - base;
    const body = want > 0 ? prose(task, d, want) : "";
    best = [...head, ...(body ? [body, ""] : [])].join("\n");
    break;
  }
  if (!best) best = [...requiredSections, ...containsLines].join("\n");
  if (d.type === "pdf" && (c.minPages ?? 0) > 1) best += pdfPages(task, d, c.minPages!);
  return best;
}

/**
 * Extra markdown that fills at least `pages` PDF pages: one part per page, each longer than a page of
 * the pdf KSA's layout (A4 with 11pt text fits about 45 list lines), so the PDF gets at least `pages` pages.
 */
function pdfPages(task: AgentTask, d: Deliverable, pages: number): string {
  const n = Math.min(pages, MAX_PDF_PAGES);
  const parts: string[] = [];
  for (let p = 1; p <= n; p++) {
    parts.push("", `## Part ${p}`, "");
    for (let k = 1; k <= LINES_PER_PART; k++) parts.push(`- ${scrub(`Point ${k} of part ${p}: ${task.card.title}.`, d)}`);
  }
  return parts.join("\n") + "\n";
}
const LINES_PER_PART = 60;
const MAX_PDF_PAGES = 200;

const SENTENCE = "This section was written by the scripted model from the stage goals and the card, so the run is reproducible offline.";

/** Exactly `n` words of filler prose from the card and the goals (without forbidden strings). */
function prose(task: AgentTask, d: Deliverable, n: number): string {
  const words: string[] = [];
  let i = 0;
  const seed = scrub(`${task.card.title}. ${task.stage.goals.join(". ")}.`, d).split(/\s+/).filter(Boolean);
  const filler = scrub(SENTENCE, d).split(/\s+/).filter(Boolean);
  const pool = filler.length ? filler : ["text"];
  while (words.length < n) words.push(...(i++ % 2 === 0 && seed.length ? seed : pool));
  return scrub(words.slice(0, n).join(" "), d);
}

const MAX_CSV_ROWS = 10_000;

/** CSV with the declared columns (else item, detail), delimiter, and a row count within minRows..maxRows. */
function csv(task: AgentTask, d: Deliverable): string {
  const c = d.checks ?? {};
  const sep = c.delimiter ?? ",";
  const cols = c.columns?.length ? c.columns.map((x) => x.trim()) : ["item", "detail"];
  let rows = task.stage.goals.length + 1;
  if (c.minRows !== undefined) rows = Math.max(rows, c.minRows);
  if (c.maxRows !== undefined) rows = Math.min(rows, c.maxRows);
  rows = Math.min(rows, MAX_CSV_ROWS);
  const field = (v: string) => (v.includes(sep) || /["\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v);
  const texts = [...task.stage.goals, task.card.title].map((x) => scrub(x, d));
  const contains = (c.contains ?? []).filter((x) => x !== "");
  const header = rows === 0 && contains.length ? [...cols, contains.join(" ")] : cols;
  const lines = [header.map(field).join(sep)];
  for (let r = 1; r <= rows; r++) {
    const cells = cols.map((_, j) => (j === 0 ? String(r) : texts[(r - 1) % texts.length] + (r > texts.length ? ` (${r})` : "")));
    if (r === 1 && contains.length) cells[cells.length - 1] += ` ${contains.join(" ")}`;
    lines.push(cells.map(field).join(sep));
  }
  return lines.join("\n") + "\n";
}

/** A value satisfying a JSON Schema of the subset QA supports (type, properties, required, items, enum...). */
export function fromSchema(schema: any, task: AgentTask, depth = 0, index = 0): unknown {
  if (schema === true || schema === undefined) return depth === 0 ? { title: task.card.title, goals: task.stage.goals } : task.card.title;
  if (!schema || typeof schema !== "object" || depth > 8) return { title: task.card.title, goals: task.stage.goals };
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[index % schema.enum.length];
  for (const k of ["anyOf", "oneOf"] as const) if (Array.isArray(schema[k]) && schema[k].length) return fromSchema({ ...schema, [k]: undefined, ...schema[k][0] }, task, depth + 1, index);
  if (Array.isArray(schema.allOf) && schema.allOf.length) {
    const merged = { ...schema, allOf: undefined } as any;
    for (const part of schema.allOf) {
      if (!part || typeof part !== "object") continue;
      for (const [k, v] of Object.entries(part)) {
        if (k === "properties") merged.properties = { ...merged.properties, ...(v as object) };
        else if (k === "required") merged.required = [...(merged.required ?? []), ...(v as string[])];
        else merged[k] = v;
      }
    }
    return fromSchema(merged, task, depth, index);
  }
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const type =
    types.find((t) => t !== "null") ??
    types[0] ??
    (schema.properties || schema.required || schema.additionalProperties ? "object" : schema.items || schema.prefixItems ? "array" : undefined);
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      const props: Record<string, unknown> = schema.properties ?? {};
      for (const [k, s] of Object.entries(props)) out[k] = fromSchema(s, task, depth + 1);
      const extra = schema.additionalProperties && typeof schema.additionalProperties === "object" ? schema.additionalProperties : { type: "string" };
      for (const k of Array.isArray(schema.required) ? schema.required : []) if (!(k in out)) out[k] = fromSchema(extra, task, depth + 1);
      for (let i = 1; Object.keys(out).length < (schema.minProperties ?? 0) && i < 1000; i++) out[`field${i}`] = fromSchema(extra, task, depth + 1, i);
      return out;
    }
    case "array": {
      const prefix: unknown[] = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
      const n = Math.max(schema.minItems ?? 1, prefix.length, 1);
      const count = Math.min(n, schema.maxItems ?? n);
      return Array.from({ length: count }, (_, i) => fromSchema(i < prefix.length ? prefix[i] : schema.items, task, depth + 1, i));
    }
    case "string": {
      const byFormat: Record<string, string> = {
        date: "2024-01-01",
        "date-time": "2024-01-01T00:00:00Z",
        time: "00:00:00Z",
        email: "agent@example.com",
        hostname: "example.com",
        ipv4: "192.0.2.1",
        ipv6: "2001:db8::1",
        uri: "https://example.com/",
        "uri-reference": "https://example.com/",
        uuid: "00000000-0000-4000-8000-000000000000",
        duration: "P1D",
      };
      const fixed = typeof schema.format === "string" ? byFormat[schema.format] : undefined;
      if (fixed !== undefined) return fixed;
      const base = index > 0 ? `${task.card.title} ${index + 1}` : task.card.title;
      const min = schema.minLength ?? 0;
      return (base.length >= min ? base : base.padEnd(min, ".")).slice(0, schema.maxLength ?? Infinity);
    }
    case "integer":
    case "number": {
      let lo = typeof schema.minimum === "number" ? schema.minimum : -Infinity;
      let hi = typeof schema.maximum === "number" ? schema.maximum : Infinity;
      const step = typeof schema.multipleOf === "number" && schema.multipleOf > 0 ? schema.multipleOf : type === "integer" ? 1 : 0;
      if (typeof schema.exclusiveMinimum === "number") lo = Math.max(lo, schema.exclusiveMinimum + (step || 1e-9));
      if (typeof schema.exclusiveMaximum === "number") hi = Math.min(hi, schema.exclusiveMaximum - (step || 1e-9));
      let v = Math.max(lo, Math.min(hi, 1 + index));
      if (step) {
        v = Math.ceil(v / step) * step;
        if (v > hi) v = Math.floor(hi / step) * step;
      }
      return v;
    }
    case "boolean":
      return index % 2 === 0;
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
