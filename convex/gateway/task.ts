/**
 * The task a runtime works on, built from the run's card and stage. It is what `/task` returns and what
 * the system prompt embeds (as JSON between <lakitu-task> tags, which the scripted model reads).
 */
import type { PlanTask, Deliverable, RetryContext } from "../shared/validators.js";

export type AgentTask = {
  runId: string;
  attempt: number;
  /** The 0-based model turn this prompt is for (filled in per /llm call). */
  step: number;
  stage: { name: string; goals: string[]; deliverables: Deliverable[]; allowedKsas: string[]; prompt?: string };
  card: { title: string; description?: string; context?: Record<string, string> };
  retryContext?: RetryContext;
  limits: { maxSteps: number; deadline: number; maxCostUsd?: number };
  outputDir: string;
  /** A resumed run's files to put back in the output folder before the agent starts (route /restore). */
  restore?: Array<{ artifactId: string; name: string; sha256: string; size: number }>;
  /** A resumed run: the card's plan as the paused run left it. */
  plan?: PlanTask[];
};

export const OUTPUT_DIR = "out";
export const DEFAULT_MAX_STEPS = 30;

const TASK_OPEN = "<lakitu-task>";
const TASK_CLOSE = "</lakitu-task>";

/** The system prompt: role, rules, the KSA reference, the task, and what the last attempt got wrong. */
export function systemPrompt(task: AgentTask, ksaReference: string): string {
  const d = task.stage.deliverables;
  const lines = [
    `You are an agent working one card of a kanban board, in the stage "${task.stage.name}".`,
    "Work by answering with ONE fenced TypeScript code block per turn. The code runs in your workspace;",
    "its output comes back as the next message. Import abilities from \"lakitu/ksa\". When the work is",
    "done, answer with a short summary and no code block.",
    "",
    `Card: ${task.card.title}`,
    ...(task.card.description ? [`Description: ${task.card.description}`] : []),
    ...Object.entries(task.card.context ?? {}).map(([k, v]) => `Context ${k}: ${v}`),
    "",
    "Goals:",
    ...task.stage.goals.map((g) => `- ${g}`),
    "",
    `Deliverables (write them under ${task.outputDir}/ — they are checked automatically):`,
    ...d.map((x) => `- ${x.name} (${x.type}${x.required === false ? ", optional" : ""})${x.description ? `: ${x.description}` : ""}${checksText(x)}`),
    ...(task.stage.prompt ? ["", task.stage.prompt] : []),
    ...(task.restore ? ["", resumeText(task)] : task.retryContext ? ["", retryText(task.retryContext)] : []),
    "",
    ksaReference,
    "",
    `${TASK_OPEN}${JSON.stringify(task)}${TASK_CLOSE}`,
  ];
  return lines.join("\n");
}

function checksText(d: Deliverable): string {
  const c = d.checks;
  if (!c) return "";
  const parts = [
    c.minWords !== undefined ? `at least ${c.minWords} words` : "",
    c.maxWords !== undefined ? `at most ${c.maxWords} words` : "",
    c.minBytes !== undefined ? `at least ${c.minBytes} bytes` : "",
    c.maxBytes !== undefined ? `at most ${c.maxBytes} bytes` : "",
    c.regex ? `matching /${c.regex}/` : "",
    c.jsonSchema ? `valid against JSON Schema ${c.jsonSchema}` : "",
    c.contains?.length ? `containing ${c.contains.map((x) => JSON.stringify(x)).join(", ")}` : "",
    c.notContains?.length ? `not containing ${c.notContains.map((x) => JSON.stringify(x)).join(", ")}` : "",
    c.headings?.length ? `with the headings ${c.headings.map((x) => JSON.stringify(x)).join(", ")}` : "",
    c.columns?.length ? `with the columns ${c.columns.join(", ")}` : "",
    c.delimiter ? `delimited by ${JSON.stringify(c.delimiter)}` : "",
    c.minRows !== undefined ? `at least ${c.minRows} data rows` : "",
    c.maxRows !== undefined ? `at most ${c.maxRows} data rows` : "",
    c.minPages !== undefined ? `at least ${c.minPages} pages` : "",
    c.minWidth !== undefined ? `at least ${c.minWidth} px wide` : "",
    c.minHeight !== undefined ? `at least ${c.minHeight} px high` : "",
  ].filter(Boolean);
  return parts.length ? ` — ${parts.join(", ")}` : "";
}

/** A resumed run continues: what is already in the workspace and where the plan stands. */
function resumeText(task: AgentTask): string {
  const r = task.retryContext;
  return [
    `This run continues the previous one, which stopped when its budget ran out. Its files are back in ${task.outputDir}/: ${task.restore!.map((f) => f.name).join(", ") || "none"}.`,
    ...(r?.missing.length ? [`Still missing: ${r.missing.join(", ")}`] : []),
    ...(r?.failed.length ? [`Failing their checks: ${r.failed.join(", ")}`] : []),
    ...(task.plan?.length ? ["Your plan so far:", ...task.plan.map((p) => `- [${p.status}] ${p.id} ${p.title}${p.note ? ` (${p.note})` : ""}`)] : []),
    ...(r?.reviewerNotes ?? []).map((n) => `Note: ${n}`),
  ].join("\n");
}

function retryText(r: RetryContext): string {
  return [
    `This is attempt ${r.attempt + 1}. The previous attempt failed: ${r.problem}`,
    ...(r.missing.length ? [`Missing deliverables: ${r.missing.join(", ")}`] : []),
    ...(r.failed.length ? [`Deliverables that failed checks: ${r.failed.join(", ")}`] : []),
    ...(r.produced.length ? [`It produced: ${r.produced.join(", ")}`] : []),
    ...r.reviewerNotes.map((n) => `Reviewer: ${n}`),
  ].join("\n");
}

/** Recovers the task embedded in a system prompt (null when there is none). */
export function taskFromPrompt(system: string): AgentTask | null {
  const start = system.lastIndexOf(TASK_OPEN);
  const end = system.lastIndexOf(TASK_CLOSE);
  if (start < 0 || end < start) return null;
  try {
    return JSON.parse(system.slice(start + TASK_OPEN.length, end)) as AgentTask;
  } catch {
    return null;
  }
}
