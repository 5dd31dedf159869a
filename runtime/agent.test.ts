import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { harness, run, ts, type Harness } from "./testing/harness.js";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe("agent loop", () => {
  it("happy path: files written through KSAs are uploaded and listed in the manifest", async () => {
    h = await harness({
      task: { stage: { deliverables: [{ name: "report.md", type: "markdown" }, { name: "data/numbers.json", type: "json" }] } },
      replies: [
        ts(`import { file, artifacts } from "lakitu/ksa";\nawait file.write({ path: "notes.txt", content: "scratch" });\nawait artifacts.save({ name: "report.md", content: "# Report\\n\\nHello." });\nconsole.log("saved report");`),
        ts(`import { artifacts, remote } from "lakitu/ksa";\nconst r = await remote.echo({ value: "ping" });\nawait artifacts.save({ name: "data/numbers.json", content: JSON.stringify([1, 2, 3]) });\nconsole.log(JSON.stringify(r));`),
        "Both deliverables are written. Done.",
      ],
    });
    const outcome = await run(h);
    expect(outcome).toMatchObject({ status: "succeeded", accepted: true, steps: 3 });
    const { fake } = h;
    expect(fake.llmCalls.map((c) => c.step)).toEqual([0, 1, 2]);
    expect(fake.llmCalls[0].observation).toBe("Begin.");
    expect(fake.llmCalls[1].observation).toContain("saved report");
    expect(fake.llmCalls[2].observation).toContain('{"echo":{"value":"ping"}}');
    expect(fake.ksaCalls).toEqual([{ ksa: "remote", fn: "echo", args: { value: "ping" } }]);

    const report = "# Report\n\nHello.";
    expect(fake.artifacts.get("report.md")).toMatchObject({ sha256: sha(report), type: "markdown" });
    expect(fake.artifacts.get("report.md")!.bytes.toString()).toBe(report);
    expect(fake.artifacts.get("data/numbers.json")).toMatchObject({ sha256: sha("[1,2,3]"), type: "json" });
    expect(fake.artifacts.has("notes.txt")).toBe(false);
    expect(await readFile(join(h.workspace, "notes.txt"), "utf8")).toBe("scratch");

    expect(fake.completions).toHaveLength(1);
    const c = fake.completions[0];
    expect(c.status).toBe("succeeded");
    expect(c.summary).toContain("Done.");
    expect(c.manifest).toEqual([
      { name: "data/numbers.json", type: "json", sha256: sha("[1,2,3]") },
      { name: "report.md", type: "markdown", sha256: sha(report) },
    ]);
    // Events: contiguous from 0, and the kinds the loop promises.
    const seqs = [...fake.events.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const kinds = new Set([...fake.events.values()].map((e) => e.kind));
    for (const k of ["status", "step", "code", "output", "upload"]) expect(kinds).toContain(k);
  });

  it("bad model output is fed back as observations and the run still ends", async () => {
    h = await harness(
      {
        task: { stage: { deliverables: [{ name: "report.md", type: "markdown" }] } },
        replies: [
          "Let me think about this first.",
          ts("const x: number = ;\nconsole.log(x)"),
          ts('const n = 1;\nthrow new Error("kaboom " + n);'),
          ts('console.log("spinning");\nwhile (true) {}'),
          ts('import { artifacts } from "lakitu/ksa";\nawait artifacts.save({ name: "report.md", content: "ok" });'),
          "Finished.",
        ],
      },
      { stepTimeoutMs: 1_000 },
    );
    const outcome = await run(h);
    expect(outcome.status).toBe("succeeded");
    const obs = h.fake.llmCalls.map((c) => c.observation);
    expect(obs).toHaveLength(6);
    // No code while a required deliverable is missing: told which file.
    expect(obs[1]).toMatch(/without code/);
    expect(obs[1]).toContain("report.md (missing)");
    // Invalid TypeScript: a syntax error with a code frame; nothing ran.
    expect(obs[2]).toContain("did not compile");
    expect(obs[2]).toMatch(/SyntaxError: Unexpected token \(1:\d+\)/);
    expect(obs[2]).toContain("1 | const x: number = ;");
    // A throw: message and a stack frame pointing into the step's code.
    expect(obs[3]).toContain("[step 2] failed");
    expect(obs[3]).toContain("Error: kaboom 1");
    expect(obs[3]).toMatch(/at step-2\.ts:2:\d+/);
    // An infinite loop: terminated, output before it kept.
    expect(obs[4]).toContain("timed out after 1000 ms");
    expect(obs[4]).toContain("spinning");
    expect(obs[5]).toContain("[step 4] ran in");
    expect(h.fake.completions[0]).toMatchObject({ status: "succeeded" });
    expect([...h.fake.events.values()].filter((e) => e.kind === "error").map((e) => (e.data as { kind: string }).kind)).toEqual([
      "syntax",
      "runtime",
      "timeout",
    ]);
  });

  it("a model that never writes the deliverables still finishes (nudges are bounded by the steps)", async () => {
    h = await harness({
      task: { stage: { deliverables: [{ name: "report.md", type: "markdown" }, { name: "extra.md", type: "markdown", required: false }] }, limits: { maxSteps: 3 } },
      replies: ["no code", "still no code", "nope"],
    });
    const outcome = await run(h);
    expect(outcome.status).toBe("succeeded");
    expect(h.fake.llmCalls).toHaveLength(3);
    expect(h.fake.llmCalls[1].observation).toContain("report.md");
    expect(h.fake.llmCalls[1].observation).not.toContain("extra.md");
    expect(h.fake.completions[0]).toMatchObject({ status: "succeeded", manifest: [] });
  });

  it("does not stop itself at maxSteps: the gateway counts the steps and says when they are used up", async () => {
    h = await harness({ task: { limits: { maxSteps: 2 } }, replies: [ts("console.log(1)"), ts("console.log(2)"), { stop: "budget_exceeded" }] });
    const outcome = await run(h);
    expect(h.fake.llmCalls.map((c) => c.step)).toEqual([0, 1, 2]);
    expect(outcome).toMatchObject({ status: "failed", error: "budget_exceeded" });
    expect(h.fake.completions[0]).toMatchObject({ status: "failed", error: "budget_exceeded" });
  });

  it("409 busy (the previous turn still in flight) is waited out, not a failure", async () => {
    h = await harness({ llmBusy: 2, replies: ["All done."] });
    const outcome = await run(h);
    expect(outcome.status).toBe("succeeded");
    expect(h.fake.requests.filter((r) => r.path === "llm")).toHaveLength(3);
  });

  it("stops when the gateway says stop", async () => {
    h = await harness({ replies: [ts("console.log(1)"), { stop: "budget_exceeded" }] });
    const outcome = await run(h);
    expect(outcome).toMatchObject({ status: "failed", error: "budget_exceeded" });
    expect(h.fake.completions[0]).toMatchObject({ status: "failed", error: "budget_exceeded" });
  });

  it("steering: a queued message appears in the next observation and is acknowledged", async () => {
    let fake: Harness["fake"];
    h = await harness({
      replies: [
        () => {
          fake.steer("Please use British spelling.", "alice");
          return ts('console.log("step zero")');
        },
        ts('console.log("colour")'),
        "Done.",
      ],
    });
    fake = h.fake;
    await run(h);
    const obs = h.fake.llmCalls.map((c) => c.observation);
    expect(obs[0]).toBe("Begin.");
    expect(obs[1]).toContain("step zero");
    expect(obs[1]).toContain("Message from alice: Please use British spelling.");
    expect(obs[2]).not.toContain("British");
    // Later inbox pulls acknowledge seq 1.
    expect(h.fake.bodiesOf("inbox").slice(-1)[0]).toEqual({ afterSeq: 1 });
    expect([...h.fake.events.values()].find((e) => e.kind === "steer")).toMatchObject({ text: "Please use British spelling.", data: { seq: 1, author: "alice" } });
  });

  it("a message arriving as the model finishes keeps the run going", async () => {
    let fake: Harness["fake"];
    h = await harness({
      replies: [
        () => {
          fake.steer("Wait, also add a title.");
          return "I am done.";
        },
        "Done now.",
      ],
    });
    fake = h.fake;
    const outcome = await run(h);
    expect(outcome.status).toBe("succeeded");
    expect(h.fake.llmCalls).toHaveLength(2);
    expect(h.fake.llmCalls[1].observation).toContain("Message from the user: Wait, also add a title.");
  });

  it("a gateway KSA call the component refuses comes back to the model as an error", async () => {
    h = await harness({
      forbidKsa: ["remote"],
      replies: [ts('import { remote } from "lakitu/ksa";\nawait remote.echo({ value: "x" });'), "Done."],
    });
    await run(h);
    expect(h.fake.ksaCalls).toEqual([{ ksa: "remote", fn: "echo", args: { value: "x" } }]);
    expect(h.fake.llmCalls[1].observation).toMatch(/KsaCallError: remote\.echo: .*403 forbidden: KSA "remote" is not allowed/);
  });
});
