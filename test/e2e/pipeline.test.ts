/**
 * End to end on this machine, over real HTTP: the component on convex-test, the E2B provider driving the
 * local sandbox host, the runtime inside bubblewrap sandboxes, and the scripted model.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { api, card, nothingLeft, pidAlive, runCard, stack, waitFor, type Stack } from "./stack.js";
import { listAll } from "../../convex/testing/listAll.js";

let s: Stack;
beforeAll(async () => {
  s = await stack();
}, 60_000);
afterAll(async () => {
  try {
    // Every function the pipeline ran stayed inside Convex's production limits (cloud figures).
    s?.deployment.limits.assertClean();
  } finally {
    await s?.close();
  }
});

const THREE_STAGES = [
  { name: "Research", kind: "agent" as const, goals: ["Find the facts"], deliverables: [{ name: "report.md", type: "markdown" as const, checks: { minWords: 50 } }], autoAdvance: true },
  {
    name: "Data",
    kind: "agent" as const,
    goals: ["Tabulate the facts"],
    deliverables: [{ name: "data.json", type: "json" as const, checks: { jsonSchema: JSON.stringify({ type: "object", required: ["title", "goals"], properties: { title: { type: "string" }, goals: { type: "array", items: { type: "string" } } } }) } }],
    autoAdvance: true,
  },
  { name: "Publish", kind: "agent" as const, goals: ["Lay the report out"], deliverables: [{ name: "report.pdf", type: "pdf" as const }], autoAdvance: true },
  { name: "Done", kind: "done" as const },
];

describe("pipeline", () => {
  test("a card goes through three agent stages (markdown, JSON, PDF) to Done; every QA passes", async () => {
    const { t } = s.deployment;
    const { boardId } = await t.mutation(api.boards.createBoard, { name: "e2e", stages: THREE_STAGES });
    const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Kelp forests" });
    await runCard(s, cardId);
    await waitFor("the card to reach Done", async () => (await card(t, cardId)).status === "done", 60_000);
    const runs = await listAll(t, api.runs.listRuns, { cardId });
    expect(runs).toHaveLength(3);
    for (const r of runs) {
      expect(r.status).toBe("succeeded");
      expect(r.qa?.ok).toBe(true);
    }
    const artifacts = await listAll(t, api.artifacts.listArtifacts, { cardId });
    expect(artifacts.map((a) => a.name).sort()).toEqual(["data.json", "report.md", "report.pdf"]);
    const pdf = artifacts.find((a) => a.name === "report.pdf")!;
    const head = await t.run(async (ctx) => {
      const doc = (await ctx.db.get(pdf.artifactId as never)) as { storageId: string };
      const blob = await ctx.storage.get(doc.storageId as never);
      return new TextDecoder().decode((await blob!.arrayBuffer()).slice(0, 5));
    });
    expect(head).toBe("%PDF-");
    await waitFor("every sandbox to be gone", () => nothingLeft(s), 10_000);
  }, 90_000);

  test("a deliverable left out on attempt 1 fails QA; attempt 2 gets the retry context and fixes it", async () => {
    const { t } = s.deployment;
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "retry",
      stages: [
        { name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }, { name: "data.json", type: "json" }], limits: { maxAttempts: 2 } },
        { name: "Done", kind: "done" },
      ],
    });
    const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Retry me", context: { scripted_skip: "data.json" } });
    await runCard(s, cardId);
    await waitFor("the card to reach Done", async () => (await card(t, cardId)).status === "done", 60_000);
    const [second, first] = await Promise.all((await listAll(t, api.runs.listRuns, { cardId })).map(async (r) => (await t.query(api.runs.getRun, { runId: r.runId }))!));
    expect(first.status).toBe("failed");
    expect(first.qa?.missing).toEqual(["data.json"]);
    expect(second.attempt).toBe(2);
    expect(second.retryContext).toMatchObject({ missing: ["data.json"], produced: ["report.md"], previousRunId: first.runId });
    expect(second.qa?.ok).toBe(true);
  }, 90_000);

  test("a steering message sent while the agent works reaches its next step", async () => {
    const { t } = s.deployment;
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "steer",
      stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }] }, { name: "Done", kind: "done" }],
    });
    const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Steer me", context: { scripted_delay_ms: "2000" } });
    const { runId } = await runCard(s, cardId);
    await waitFor("the agent's first step", async () => (await listAll(t, api.events.listEvents, { runId })).some((e) => e.kind === "code"));
    await t.mutation(api.inbox.sendMessage, { runId, text: "Cite two sources, please.", author: "editor" });
    await waitFor("the card to reach Done", async () => (await card(t, cardId)).status === "done", 30_000);
    const events = await listAll(t, api.events.listEvents, { runId });
    expect(events.some((e) => e.kind === "steer" && (e.text ?? "").includes("Cite two sources, please."))).toBe(true);
    expect(events.some((e) => e.kind === "step" && (e.text ?? "").includes("Noted the steering: Cite two sources, please."))).toBe(true);
  }, 60_000);

  test("a sandbox killed mid-run (SIGKILL) ends the run via the watchdog; the retry succeeds; nothing is left behind", async () => {
    const { t } = s.deployment;
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 3_000 });
    try {
      const { boardId } = await t.mutation(api.boards.createBoard, {
        name: "kill",
        stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }], limits: { maxAttempts: 2 } }, { name: "Done", kind: "done" }],
      });
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Kill me", context: { scripted_delay_ms: "600000" } });
      const { runId } = await runCard(s, cardId);
      await waitFor("the agent's first step", async () => (await listAll(t, api.events.listEvents, { runId })).some((e) => e.kind === "code"));
      const [box] = s.host.list().filter((b) => b.metadata["lakitu.run"] === runId);
      const pids = box.pids;
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) {
        // One may have exited on its own meanwhile (ESRCH).
        try {
          process.kill(pid, "SIGKILL");
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
        }
      }
      await waitFor("the card to reach Done", async () => (await card(t, cardId)).status === "done", 30_000);
      const first = (await t.query(api.runs.getRun, { runId }))!;
      expect(first.status).toBe("failed");
      expect(first.error?.code).toBe("sandbox_gone"); // the provider saw no runtime process left
      const runs = await listAll(t, api.runs.listRuns, { cardId });
      expect(runs[0]).toMatchObject({ attempt: 2, status: "succeeded" });
      await waitFor("every sandbox to be gone", () => nothingLeft(s), 10_000);
      expect(pids.some(pidAlive)).toBe(false);
      expect(existsSync(box.dir)).toBe(false);
    } finally {
      await t.mutation(api.config.configure, { heartbeatTimeoutMs: 60_000 });
    }
  }, 60_000);
});

/** One deliverable per kind of check, each check declared (issue 16's "checks people need"). */
const EVERY_CHECK = [
  {
    name: "week.csv",
    type: "csv" as const,
    checks: { minRows: 7, maxRows: 7, columns: ["day", "visitors", "revenue"], delimiter: ";", contains: ["visitors"], notContains: ["N/A"] },
  },
  { name: "brief.md", type: "markdown" as const, checks: { headings: ["Summary", "Risks"], minWords: 40, maxWords: 600, contains: ["kelp"], notContains: ["TODO"] } },
  {
    name: "facts.json",
    type: "json" as const,
    checks: {
      jsonSchema: JSON.stringify({
        type: "object",
        required: ["id", "tags", "status", "score"],
        properties: { tags: { type: "array", items: { type: "string" }, minItems: 2 }, status: { enum: ["draft", "final"] }, score: { type: "integer", minimum: 3 } },
      }),
    },
  },
  { name: "notes.txt", type: "text" as const, checks: { contains: ["alpha", "omega"], notContains: ["beta"], minBytes: 20 } },
  { name: "report.pdf", type: "pdf" as const, checks: { minPages: 2 } },
];

describe("QA checks with the scripted model", () => {
  test("a stage declaring every kind of check runs green; a check the model cannot meet blocks the card with its precise reason", async () => {
    const { t } = s.deployment;
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "checks",
      stages: [
        { name: "Write", kind: "agent", goals: ["Describe kelp"], deliverables: EVERY_CHECK, autoAdvance: true, limits: { maxAttempts: 1 } },
        { name: "Done", kind: "done" },
      ],
    });
    const green = await t.mutation(api.cards.addCard, { boardId, title: "Kelp week" });
    await runCard(s, green);
    await waitFor("the card to reach Done", async () => (await card(t, green)).status === "done", 60_000);
    const [run] = await listAll(t, api.runs.listRuns, { cardId: green });
    const report = (await t.query(api.runs.getRun, { runId: run!.runId }))!.qa!;
    expect(report.ok).toBe(true);
    // Every declared check was really evaluated, not skipped.
    for (const d of EVERY_CHECK) {
      for (const key of Object.keys(d.checks)) {
        if (key === "delimiter") continue; // an option of the CSV checks, not a check of its own
        const check = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`); // the report's names: min_rows, json_schema
        expect(report.checks.some((c) => c.deliverable === d.name && c.check === check && c.ok), `${d.name} ${check}`).toBe(true);
      }
    }

    // The same stage with one check broken on purpose: a regex no writer of text would match by chance.
    const { boardId: strict } = await t.mutation(api.boards.createBoard, {
      name: "checks-broken",
      stages: [
        {
          name: "Write",
          kind: "agent",
          deliverables: EVERY_CHECK.map((d) => (d.name === "notes.txt" ? { ...d, checks: { ...d.checks, regex: "^[0-9a-f]{64}$" } } : d)),
          limits: { maxAttempts: 1 },
        },
        { name: "Done", kind: "done" },
      ],
    });
    const broken = await t.mutation(api.cards.addCard, { boardId: strict, title: "Kelp week" });
    await runCard(s, broken);
    await waitFor("the card to be blocked", async () => (await card(t, broken)).status === "blocked", 60_000);
    const [failed] = await listAll(t, api.runs.listRuns, { cardId: broken });
    const qa = (await t.query(api.runs.getRun, { runId: failed!.runId }))!.qa!;
    expect(qa.ok).toBe(false);
    expect(qa.failed).toEqual(["notes.txt"]);
    const bad = qa.checks.filter((c) => !c.ok);
    expect(bad.map((c) => [c.deliverable, c.check])).toEqual([["notes.txt", "regex"]]);
    expect(bad[0]!.reason).toContain("^[0-9a-f]{64}$");
    // The model said so in its step text instead of failing silently.
    const events = await listAll(t, api.events.listEvents, { runId: failed!.runId });
    expect(events.some((e) => (e.text ?? "").includes("beyond what I can produce") && (e.text ?? "").includes("notes.txt"))).toBe(true);
  }, 120_000);
});

describe("artifacts at production sizes", () => {
  test("a 17 MiB deliverable (over the old 16 MiB argument limit) goes from the sandbox through the bridge into storage and passes QA", async () => {
    const { t } = s.deployment;
    const MiB = 1024 * 1024;
    await t.mutation(api.config.configure, { maxArtifactBytes: 32 * MiB });
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "big",
      stages: [
        { name: "Export", kind: "agent", allowedKsas: ["file"], deliverables: [{ name: "dataset.txt", type: "file", checks: { minBytes: 17 * MiB } }] },
        { name: "Done", kind: "done" },
      ],
    });
    const cardId = await t.mutation(api.cards.addCard, { boardId, title: "Export the data" });
    await runCard(s, cardId);
    await waitFor("the card to reach Done", async () => ["done", "blocked"].includes((await card(t, cardId)).status), 60_000);
    const [run] = await listAll(t, api.runs.listRuns, { cardId });
    expect((await t.query(api.runs.getRun, { runId: run.runId }))?.qa).toMatchObject({ ok: true });
    const [a] = await listAll(t, api.artifacts.listArtifacts, { cardId });
    expect(a.name).toBe("dataset.txt");
    expect(a.size).toBeGreaterThanOrEqual(17 * MiB);
    const storedSize = await t.run(async (ctx) => {
      const doc = (await ctx.db.get(a.artifactId as never)) as { storageId: string };
      return (await ctx.db.system.get(doc.storageId as never) as { size: number } | null)?.size;
    });
    expect(storedSize).toBe(a.size);
  }, 90_000);
});
