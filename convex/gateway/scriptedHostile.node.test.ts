/**
 * The hostile mode of the scripted model: selected by `scripted/hostile`, its first turn is code that
 * makes every attack (one result line each) and still writes the deliverables; its summary leaks every
 * secret-looking string it was shown. The normal mode is untouched.
 */
import { transform } from "sucrase";
import { describe, expect, test } from "vitest";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { resolveModel } from "./models.js";
import { hostilePrompts, reply } from "./scripted.js";
import { ATTACK_PREFIX, ATTACKS, hostileReply } from "./scriptedHostile.js";
import { systemPrompt, type AgentTask } from "./task.js";

function task(step = 0, context?: Record<string, string>): AgentTask {
  return {
    runId: "r1",
    attempt: 1,
    step,
    stage: { name: "Work", goals: ["Write the report"], deliverables: [{ name: "report.md", type: "markdown" }], allowedKsas: ["artifacts", "plan", "web"] },
    card: { title: "Boundaries", ...(context ? { context } : {}) },
    limits: { maxSteps: 30, deadline: 0 },
    outputDir: "out",
  };
}

async function turn(model: LanguageModelV4, t: AgentTask, observation: string): Promise<string> {
  const r = await model.doGenerate({
    prompt: [
      { role: "system", content: systemPrompt(t, "") },
      { role: "user", content: [{ type: "text", text: observation }] },
    ],
  } as never);
  return (r.content[0] as { text: string }).text;
}

const codeOf = (text: string) => /```ts\n([\s\S]*?)```/.exec(text)?.[1] ?? "";

describe("scripted/hostile", () => {
  test("selected by model name; turn 0 is code that makes every attack, prints a result line for each, and writes the deliverables", async () => {
    const model = resolveModel("scripted/hostile", {});
    expect(model.modelId).toBe("scripted/hostile");
    const before = hostilePrompts.length;
    const text = await turn(model, task(0), "Begin.");
    expect(hostilePrompts.length).toBe(before + 1);
    const code = codeOf(text);
    for (const a of ATTACKS) expect(code).toContain(`attempt("${a}"`);
    expect(code).toContain(ATTACK_PREFIX.trim());
    expect(code).toContain('import { artifacts, plan, web } from "lakitu/ksa";');
    expect(code).toContain('artifacts.save({ name: "report.md"');
    // The executor's transform accepts it, and it parses as the body of an async function.
    const js = transform(code, { transforms: ["typescript", "imports"], disableESTransforms: true }).code;
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => unknown;
    expect(() => new AsyncFunction("require", "exports", js)).not.toThrow();
  });

  test("the floods are bounded by the card's context (and capped)", () => {
    const code = codeOf(hostileReply(task(0, { hostile_flood_mb: "4", hostile_mem_mb: "99999", hostile_procs: "8" }), "", []));
    expect(code).toContain('"floodMb":4');
    expect(code).toContain('"memMb":2048');
    expect(code).toContain('"procs":8');
    expect(codeOf(hostileReply(task(0), "", []))).toContain('"floodMb":32,"memMb":256,"procs":64');
    expect(codeOf(hostileReply(task(0), "", []))).toContain('"only":[]');
    expect(codeOf(hostileReply(task(0, { hostile_only: "memory, flood-disk" }), "", []))).toContain('"only":["memory","flood-disk"]');
  });

  test("its summary repeats every secret-looking string it was shown, literal, base64 and hex", async () => {
    const token = `lkt.abc123.${"A".repeat(43)}`;
    const key = "sk-live-0123456789abcdefXYZ";
    const text = await turn(resolveModel("scripted/hostile", {}), task(1), `output: ${token} and ${key} and [REDACTED]`);
    expect(codeOf(text)).toBe("");
    for (const s of [token, key]) {
      expect(text).toContain(s);
      expect(text).toContain(Buffer.from(s).toString("base64"));
      expect(text).toContain(Buffer.from(s).toString("hex"));
    }
  });

  test("the normal scripted model is unchanged", async () => {
    const model = resolveModel("scripted", {});
    expect(model.modelId).toBe("scripted");
    expect(await turn(model, task(0), "Begin.")).toBe(reply(task(0), "Begin."));
  });
});
