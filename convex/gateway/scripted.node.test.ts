/**
 * The scripted model against the newer QA checks: the code it answers with is run against stand-in
 * KSAs (the pdf one renders with the real markdown-to-PDF of the runtime), and what it writes passes QA.
 */
import { describe, expect, test } from "vitest";
import { markdownToPdf } from "../../ksa/markdownPdf.js";
import { checkDeliverables, deliverableProblems, type QaArtifact } from "../shared/qa.js";
import type { Deliverable } from "../shared/validators.js";
import { reply } from "./scripted.js";
import type { AgentTask } from "./task.js";

function task(deliverables: Deliverable[], goals = ["Find the facts", "Tabulate them", "Say what is next"]): AgentTask {
  return {
    runId: "r1",
    attempt: 1,
    step: 0,
    stage: { name: "Work", goals, deliverables, allowedKsas: ["artifacts", "pdf", "plan", "file"] },
    card: { title: "Kelp forests" },
    limits: { maxSteps: 30, deadline: 0 },
    outputDir: "out",
  };
}

/** Runs the fenced code of a reply with stand-in KSAs; returns the files it wrote. */
async function runReply(text: string): Promise<QaArtifact[]> {
  const code = /```ts\n([\s\S]*?)```/.exec(text)?.[1];
  if (!code) throw new Error(`no code in: ${text}`);
  const body = code.replace(/^import .*$/m, "");
  const files = new Map<string, Uint8Array>();
  const artifacts = {
    save: async ({ name, content, encoding }: { name: string; content: string; encoding?: string }) => {
      files.set(name, encoding === "base64" ? Uint8Array.from(atob(content), (c) => c.charCodeAt(0)) : new TextEncoder().encode(content));
    },
  };
  const pdf = {
    fromMarkdown: async ({ markdown, path, title }: { markdown: string; path: string; title?: string }) => {
      files.set(path.replace(/^out\//, ""), (await markdownToPdf(markdown, title)).bytes);
    },
  };
  const file = { write: async ({ path, content }: { path: string; content: string }) => void files.set(path.replace(/^out\//, ""), new TextEncoder().encode(content)) };
  const plan = { add: async () => ({}) };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  await new AsyncFunction("artifacts", "pdf", "file", "plan", "console", body)(artifacts, pdf, file, plan, { log: () => {} });
  return [...files].map(([name, bytes]) => ({ name, size: bytes.length, bytes }));
}

async function expectPasses(deliverables: Deliverable[], goals?: string[]) {
  deliverables.forEach((d, i) => expect(deliverableProblems(d, `stages[0].deliverables[${i}]`)).toEqual([]));
  const text = reply(task(deliverables, goals), "");
  expect(text).not.toContain("beyond what I can produce");
  const report = checkDeliverables(deliverables, await runReply(text));
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.ok).toBe(true);
  return report;
}

describe("the scripted model writes files that pass the declared checks", () => {
  test("CSV: columns, delimiter, row bounds, contains/notContains", async () => {
    const r = await expectPasses([
      { name: "a.csv", type: "csv", checks: { columns: ["name", "price", "note; with delimiter"], delimiter: ";", minRows: 7, maxRows: 9 } },
      { name: "b.csv", type: "csv", checks: { maxRows: 1, contains: ["kelp, sea"], notContains: ["Find"] } },
      { name: "c.tsv", type: "csv", checks: { delimiter: "\t", minRows: 0, maxRows: 0, columns: ["x"], contains: ["zero rows"] } },
      { name: "d.csv", type: "csv", checks: { delimiter: "|", minRows: 25 } },
    ]);
    expect(r.checks.find((c) => c.deliverable === "a.csv" && c.check === "min_rows")?.reason).toBe("7 data rows (min 7)");
    expect(r.checks.find((c) => c.deliverable === "b.csv" && c.check === "max_rows")?.reason).toBe("1 data row (max 1)");
  });

  test("markdown: required headings within tight word bounds; text with contains and notContains", async () => {
    await expectPasses([
      { name: "r.md", type: "markdown", checks: { headings: ["Summary", "Risks", "Next steps"], minWords: 120, maxWords: 130 } },
      { name: "short.md", type: "markdown", checks: { headings: ["Summary"], maxWords: 12 } },
      { name: "n.txt", type: "text", checks: { contains: ["Kelp", "ACK-42"], notContains: ["scripted", "Kelp forests"], minWords: 60 } },
      { name: "p.html", type: "html", checks: { contains: ["<b>"], notContains: ["model"] } },
    ]);
  });

  test("JSON: required keys without properties, types, enums, formats and bounds", async () => {
    const schema = {
      type: "object",
      required: ["id", "status", "tags", "score", "when", "extra"],
      additionalProperties: false,
      properties: {
        id: { type: "integer", minimum: 10, multipleOf: 5 },
        status: { enum: ["draft", "final"] },
        tags: { type: "array", minItems: 3, uniqueItems: true, items: { type: "string", minLength: 2 } },
        score: { type: ["null", "number"], exclusiveMinimum: 0, maximum: 0.5 },
        when: { type: "string", format: "date" },
        extra: {},
      },
    };
    await expectPasses([
      { name: "d.json", type: "json", checks: { jsonSchema: JSON.stringify(schema) } },
      { name: "e.json", type: "json", checks: { jsonSchema: JSON.stringify({ type: "object", required: ["a", "b"] }) } },
      { name: "f.json", type: "json", checks: { jsonSchema: JSON.stringify({ type: "object", required: ["n"], additionalProperties: { type: "number" } }) } },
    ]);
  });

  test("PDF: at least minPages pages", async () => {
    const r = await expectPasses([
      { name: "one.pdf", type: "pdf", checks: { minPages: 1 } },
      { name: "four.pdf", type: "pdf", checks: { minPages: 4 } },
    ]);
    expect(r.checks.find((c) => c.deliverable === "four.pdf" && c.check === "min_pages")?.ok).toBe(true);
  }, 60_000);
});

describe("checks the scripted model cannot meet are named in its step text", () => {
  test("a regex and image dimensions", () => {
    const text = reply(
      task([
        { name: "r.md", type: "markdown", checks: { regex: "^ZZZ\\d{4}$" } },
        { name: "i.png", type: "png", checks: { minWidth: 800 } },
        { name: "ok.md", type: "markdown", checks: { regex: "^# Kelp" } },
      ]),
      "",
    );
    expect(text).toContain("beyond what I can produce");
    expect(text).toContain("- r.md regex: content does not match /^ZZZ\\d{4}$/");
    expect(text).toContain('- i.png min_width: "i.png" is 1x1 pixels; minWidth requires a width of at least 800');
    expect(text).not.toContain("ok.md regex");
  });

  test("the step text is unchanged when every check is met", () => {
    expect(reply(task([{ name: "report.md", type: "markdown" }]), "")).toMatch(/^I will write the deliverables now\.\n\n```ts\n/);
  });
});

describe("steering messages in an observation", () => {
  test("are acknowledged, and a hostile line of repeated prefixes is read in linear time", () => {
    const later = { ...task([{ name: "report.md", type: "markdown" }]), step: 1 };
    expect(reply(later, "Message from alice: use British spelling")).toContain("Noted the steering: use British spelling");
    // The old unbounded pattern took ~15 s for 20,000 repeats (quadratic); 60,000 would be minutes.
    const hostile = "Message from ".repeat(60_000);
    expect(reply(later, hostile)).toMatch(/^Done\./);
  });
});
