/**
 * Bad input, from the parent app (function arguments) and from the runtime (HTTP requests): each is
 * refused with an error that names the problem, and nothing is written.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { CALLBACK_URL, SimRuntime, makeBoard, runStatus, setup, until, type T } from "../testing/harness.js";
import { snapshotTables } from "../testing/runHelpers.js";
import type { StageInput } from "../shared/validators.js";
import { listAll } from "../testing/listAll.js";

const FIRST = { numItems: 10, cursor: null };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const snapshot = snapshotTables;

/** Asserts a Lakitu error with `code` whose message matches `message`. */
async function refused(p: Promise<unknown>, code: string, message: RegExp) {
  let error: any;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a ${code} error`).toBeDefined();
  expect(error.data?.code, String(error?.message)).toBe(code);
  expect(error.data.message).toMatch(message);
}

/** Runs `call`, which must be refused as `code`/`message`, and checks that nothing changed. */
async function refusedUnchanged(t: T, call: () => Promise<unknown>, code: string, message: RegExp) {
  const before = await snapshot(t);
  await refused(call(), code, message);
  expect(await snapshot(t)).toEqual(before);
}

const agent = (name: string, extra: Partial<StageInput> = {}): StageInput => ({ name, kind: "agent", goals: ["g"], ...extra });

async function runningCard() {
  const { t, providerHandle, provider } = await setup();
  const board = await makeBoard(t);
  const { runId } = await t.mutation(api.runs.runCard, { cardId: board.cardId, providerHandle, callbackUrl: CALLBACK_URL });
  await until(t, async () => (await runStatus(t, runId)) === "running");
  return { t, providerHandle, provider, runId, rt: new SimRuntime(t, provider.latest()), ...board };
}

describe("unknown ids", () => {
  test("garbage strings and ids of other tables are not_found, naming the kind of id", async () => {
    const { t, providerHandle, boardId, stageIds, cardId, runId } = await runningCard();
    const others = { board: cardId, stage: boardId, card: runId, run: stageIds[0] };
    for (const bad of ["nope", ""]) {
      await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId: bad, title: "x" }), "not_found", /is not a board id/);
    }
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId: others.board, title: "x" }), "not_found", new RegExp(`"${others.board}" is not a board id`));
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId, title: "x", stageId: "nope" }), "not_found", /is not a stage id/);
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId, title: "x", stageId: others.stage }), "not_found", /is not a stage id/);
    for (const [cardArg, stageArg, what] of [
      ["nope", stageIds[1], /is not a card id/],
      [others.card, stageIds[1], /is not a card id/],
      [cardId, "nope", /is not a stage id/],
      [cardId, others.stage, /is not a stage id/],
    ] as const) {
      await refusedUnchanged(t, () => t.mutation(api.cards.moveCard, { cardId: cardArg, stageId: stageArg }), "not_found", what);
    }
    for (const bad of ["nope", others.card]) {
      await refusedUnchanged(t, () => t.mutation(api.runs.runCard, { cardId: bad, providerHandle, callbackUrl: CALLBACK_URL }), "not_found", /is not a card id/);
      await refused(t.query(api.runs.listRuns, { cardId: bad, paginationOpts: FIRST }), "not_found", /is not a card id/);
    }
    for (const bad of ["nope", others.run]) {
      await refusedUnchanged(t, () => t.mutation(api.runs.cancelRun, { runId: bad }), "not_found", /is not a run id/);
      await refused(t.query(api.events.listEvents, { runId: bad, paginationOpts: FIRST }), "not_found", /is not a run id/);
      await refusedUnchanged(t, () => t.mutation(api.inbox.sendMessage, { runId: bad, text: "hi" }), "not_found", /is not a run id/);
    }
    for (const bad of ["nope", others.stage]) {
      await refusedUnchanged(t, () => t.mutation(api.boards.updateStage, { stageId: bad, patch: { name: "X" } }), "not_found", /is not a stage id/);
    }
    // The getters answer null for ids they do not know rather than throwing.
    for (const bad of ["nope", others.board]) expect(await t.query(api.boards.getBoard, { boardId: bad })).toBeNull();
    expect(await t.query(api.cards.getCard, { cardId: others.card })).toBeNull();
    expect(await t.query(api.runs.getRun, { runId: others.run })).toBeNull();
    // The right ids still work (the run is untouched).
    expect((await t.query(api.boards.getBoard, { boardId }))?.stages).toHaveLength(3);
    expect(await runStatus(t, runId)).toBe("running");
  });

  test("an id of the right table that no longer exists is not_found", async () => {
    const { t } = await setup();
    const { boardId, cardId } = await makeBoard(t);
    await t.run(async (ctx) => {
      await ctx.db.delete(cardId as never);
    });
    await refusedUnchanged(t, () => t.mutation(api.cards.moveCard, { cardId, stageId: boardId }), "not_found", new RegExp(`card ${cardId} does not exist`));
    await refused(t.query(api.runs.listRuns, { cardId, paginationOpts: FIRST }), "not_found", /does not exist/);
    expect(await t.query(api.cards.getCard, { cardId })).toBeNull();
  });

  test("a stage of another board is refused", async () => {
    const { t } = await setup();
    const a = await makeBoard(t);
    const b = await makeBoard(t);
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId: a.boardId, title: "x", stageId: b.stageIds[0] }), "invalid_argument", /is not on board/);
    await refusedUnchanged(t, () => t.mutation(api.cards.moveCard, { cardId: a.cardId, stageId: b.stageIds[1] }), "invalid_argument", /on another board/);
    // Listing one board's cards by another board's stage is an error, not an empty list.
    await refused(t.query(api.cards.listCards, { boardId: a.boardId, stageId: b.stageIds[0], paginationOpts: FIRST }), "invalid_argument", /stageId: stage .* belongs to board .*, not to board/);
  });
});

describe("boards and stages", () => {
  test("an empty stage list is refused", async () => {
    const { t } = await setup();
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [] }), "invalid_argument", /at least one stage/);
  });

  test("empty, blank or control-character names are refused", async () => {
    const { t } = await setup();
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "  ", stages: [agent("A")] }), "invalid_argument", /^name must not be empty/);
    for (const name of ["", "   "]) {
      await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A"), agent(name)] }), "invalid_argument", /stages\[1\]\.name must not be empty/);
    }
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A\nB")] }), "invalid_argument", /stages\[0\]\.name must not contain control characters/);
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [agent("x".repeat(201))] }), "invalid_argument", /201 characters; the limit is 200/);
  });

  test("duplicate stage names are refused case-insensitively", async () => {
    const { t } = await setup();
    for (const [a, b] of [["Research", "Research"], ["Research", "research"], ["Draft", " DRAFT "]]) {
      await refusedUnchanged(
        t,
        () => t.mutation(api.boards.createBoard, { name: "B", stages: [agent(a), { name: b, kind: "human" }] }),
        "invalid_argument",
        /appears twice; stage names must be unique/,
      );
    }
    const { boardId, stageIds } = await makeBoard(t);
    await refusedUnchanged(t, () => t.mutation(api.boards.addStage, { boardId, stage: { name: "RESEARCH", kind: "human" } }), "invalid_argument", /already has a stage named "RESEARCH"/);
    await refusedUnchanged(t, () => t.mutation(api.boards.updateStage, { stageId: stageIds[1], patch: { name: "research" } }), "invalid_argument", /already has a stage named "research"/);
    // Renaming a stage to another case of its own name is fine.
    expect((await t.mutation(api.boards.updateStage, { stageId: stageIds[1], patch: { name: "DRAFT" } })).name).toBe("DRAFT");
  });

  test("a deliverable with an unknown type is rejected by the validator", async () => {
    const { t } = await setup();
    const before = await snapshot(t);
    const stage = agent("A", { deliverables: [{ name: "x.docx", type: "docx" as never }] });
    await expect(t.mutation(api.boards.createBoard, { name: "B", stages: [stage] })).rejects.toThrow(/docx/);
    expect(await snapshot(t)).toEqual(before);
  });

  test("deliverable names that escape the output folder or could never be uploaded are refused", async () => {
    const { t } = await setup();
    const cases: [string, RegExp][] = [
      ["../x.md", /"\.\." segment/],
      ["out/../../x.md", /"\.\." segment/],
      ["/etc/passwd", /relative to the output folder/],
      ["a\\b.md", /backslash/],
      ["C:/x.md", /is absolute/],
      ["~/x.md", /is absolute/],
      ["./x.md", /empty or "\." path segment/],
      ["", /deliverable name is empty/],
      [`${"d".repeat(201)}.md`, /characters; the limit is 200/],
    ];
    for (const [name, message] of cases) {
      const stage = agent("A", { deliverables: [{ name, type: "markdown" }] });
      await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [stage] }), "invalid_argument", message);
    }
    const twice = agent("A", { deliverables: [{ name: "r.md", type: "markdown" }, { name: "r.md", type: "text" }] });
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [twice] }), "invalid_argument", /names "r\.md" twice/);
    const onHuman = { name: "Review", kind: "human" as const, deliverables: [{ name: "r.md", type: "markdown" as const }] };
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [onHuman] }), "invalid_argument", /only agent stages have deliverables/);
    const badChecks = agent("A", { deliverables: [{ name: "r.md", type: "markdown", checks: { minWords: 10, maxWords: 5 } }] });
    await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [badChecks] }), "invalid_argument", /minWords \(10\) is greater than checks\.maxWords \(5\)/);
  });

  test("negative, fractional and absurd limits are refused", async () => {
    const { t } = await setup();
    const cases: [Record<string, number>, RegExp][] = [
      [{ maxAttempts: 0 }, /stages\[0\]\.limits\.maxAttempts must be an integer between 1 and 20, got 0/],
      [{ maxAttempts: 1000 }, /maxAttempts must be an integer between 1 and 20, got 1000/],
      [{ maxAttempts: 2.5 }, /maxAttempts must be an integer .* got 2\.5/],
      [{ maxDurationMs: -1 }, /maxDurationMs must be an integer between 1000 and 86400000, got -1/],
      [{ maxDurationMs: 1500.5 }, /maxDurationMs must be an integer/],
      [{ maxDurationMs: Number.POSITIVE_INFINITY }, /maxDurationMs must be an integer .* got Infinity/],
      [{ maxCostUsd: -5 }, /maxCostUsd must be a number between 0 and 10000, got -5/],
      [{ maxCostUsd: Number.NaN }, /maxCostUsd must be a number .* got NaN/],
      [{ maxSteps: 0 }, /maxSteps must be an integer between 1 and 10000/],
      [{ idleTimeoutMs: 10 }, /idleTimeoutMs must be an integer between 1000/],
      [{ wipLimit: -1 }, /wipLimit must be an integer between 1/],
    ];
    for (const [limits, message] of cases) {
      await refusedUnchanged(t, () => t.mutation(api.boards.createBoard, { name: "B", stages: [agent("A", { limits })] }), "invalid_argument", message);
    }
    // The same checks guard updateStage and addStage.
    const { boardId, stageIds } = await makeBoard(t);
    await refusedUnchanged(t, () => t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 0 } } }), "invalid_argument", /patch\.limits\.maxAttempts must be an integer between 1 and 20, got 0/);
    await refusedUnchanged(t, () => t.mutation(api.boards.addStage, { boardId, stage: agent("New", { limits: { maxCostUsd: -5 } }) }), "invalid_argument", /maxCostUsd must be a number between 0/);
    for (const position of [-1, 1.5, 99]) {
      await refusedUnchanged(t, () => t.mutation(api.boards.addStage, { boardId, stage: agent("New"), position }), "invalid_argument", /position must be an integer from 0 to 3/);
    }
    // A patch that turns an agent stage with deliverables into a done stage is refused as a whole.
    await refusedUnchanged(t, () => t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { kind: "done" } }), "invalid_argument", /only agent stages have deliverables/);
  });

  test("card titles, descriptions and context are checked", async () => {
    const { t } = await setup();
    const { boardId } = await makeBoard(t);
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId, title: " " }), "invalid_argument", /title must not be empty/);
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId, title: "x", description: "d".repeat(20_001) }), "invalid_argument", /description is 20001 characters/);
    await refusedUnchanged(t, () => t.mutation(api.cards.addCard, { boardId, title: "x", context: { "not ok": "v" } }), "invalid_argument", /context variable name "not ok" must be an identifier/);
  });

  test("page sizes that are not whole numbers from 1 to the list's maximum are refused, and so are cursors no list returned", async () => {
    const { t, boardId, cardId, runId, rt } = await runningCard();
    await rt.events(["a", "b", "c"]);
    for (const numItems of [2.5, Number.NaN, 0, -5, 1e9]) {
      const paginationOpts = { numItems, cursor: null };
      const size = /paginationOpts\.numItems must be a whole number from 1 to \d+, got/;
      await refused(t.query(api.events.listEvents, { runId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.events.latestEvents, { runId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.runs.listRuns, { cardId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.runs.listTransitions, { cardId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.runs.listActive, { paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.cards.listCards, { boardId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.boards.listBoards, { paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.artifacts.listArtifacts, { cardId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.usage.listTurns, { runId, paginationOpts }), "invalid_argument", size);
      await refused(t.query(api.transcripts.transcript, { cardId, paginationOpts }), "invalid_argument", size);
    }
    for (const limit of [2.5, Number.NaN]) {
      await refusedUnchanged(t, () => t.mutation(api.reaper.reap, { limit }), "invalid_argument", /limit must be a whole number/);
    }
    for (const cursor of ["not a cursor", "{}", "x".repeat(9_000)]) {
      await refused(t.query(api.cards.listCards, { boardId, paginationOpts: { numItems: 5, cursor } }), "invalid_argument", /paginationOpts\.cursor must be null \(first page\) or a continueCursor this list returned/);
      await refused(t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 5, cursor: null, endCursor: cursor } }), "invalid_argument", /paginationOpts\.endCursor must be null/);
    }
    expect((await t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 1, cursor: null } })).page).toHaveLength(1);
    expect(await listAll(t, api.events.listEvents, { runId })).toHaveLength(3);
    for (const afterSeq of [Number.NaN, -2, 0.5]) {
      await refused(t.query(api.events.listEvents, { runId, afterSeq, paginationOpts: FIRST }), "invalid_argument", /afterSeq must be an integer between -1 and 2000000002/);
    }
    await refused(t.query(api.artifacts.listArtifacts, { paginationOpts: FIRST }), "invalid_argument", /exactly one of runId or cardId/);
  });
});

describe("running cards", () => {
  test("a second runCard on a running card is a conflict", async () => {
    const { t, providerHandle, cardId, runId } = await runningCard();
    await refusedUnchanged(t, () => t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL }), "conflict", new RegExp(`already has an active run ${runId} \\(running\\)`));
    // While still queued, too.
    const { t: t2, providerHandle: h2 } = await setup();
    const b = await makeBoard(t2);
    await t2.mutation(api.runs.runCard, { cardId: b.cardId, providerHandle: h2, callbackUrl: CALLBACK_URL });
    await refusedUnchanged(t2, () => t2.mutation(api.runs.runCard, { cardId: b.cardId, providerHandle: h2, callbackUrl: CALLBACK_URL }), "conflict", /\(queued\); cancel it first/);
    // The same attempt again is the idempotent repeat, not a new run.
    const again = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL, attempt: 1 });
    expect(again).toMatchObject({ runId, created: false, attempt: 1 });
  });

  test("a card waiting for review cannot be re-run until it is reviewed or stopped", async () => {
    const { t, providerHandle, provider } = await setup();
    const { cardId } = await makeBoard(t, { requiresApproval: true });
    const { runId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
    await until(t, async () => (await runStatus(t, runId)) === "running");
    const rt = new SimRuntime(t, provider.latest());
    await rt.upload("report.md", "# Report\n\nOtters are great swimmers.");
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await t.query(api.cards.getCard, { cardId }))?.status === "awaiting_review");
    await refusedUnchanged(t, () => t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL }), "conflict", /is waiting for review of run/);
    expect((await t.mutation(api.runs.stopCard, { cardId })).stopped).toBe(true);
    const { runId: next } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL });
    expect(next).not.toBe(runId);
  });

  test("cards in done or human stages do not run", async () => {
    const { t, providerHandle } = await setup();
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "B",
      stages: [agent("Work"), { name: "Review", kind: "human" }, { name: "Done", kind: "done" }],
    });
    const stages = (await t.query(api.boards.getBoard, { boardId }))!.stages;
    for (const stage of stages.slice(1)) {
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: "c", stageId: stage.stageId });
      await refusedUnchanged(
        t,
        () => t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL }),
        "invalid_argument",
        new RegExp(`stage "${stage.name}" is a ${stage.kind} stage; only agent stages run`),
      );
    }
  });

  test("a bad callbackUrl, providerHandle or attempt is refused", async () => {
    const { t, providerHandle } = await setup();
    const { cardId } = await makeBoard(t);
    for (const callbackUrl of ["", "lakitu.test", "ftp://lakitu.test", "http://", "http://a b", "javascript:alert(1)"]) {
      await refusedUnchanged(t, () => t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl }), "invalid_argument", /callbackUrl must be an http\(s\) URL/);
    }
    for (const handle of ["", "testProvider:provider", "internal.provider", "https://example.com"]) {
      await refusedUnchanged(t, () => t.mutation(api.runs.runCard, { cardId, providerHandle: handle, callbackUrl: CALLBACK_URL }), "invalid_argument", /providerHandle must be a function handle/);
    }
    for (const attempt of [0, -1, 1.5]) {
      await refusedUnchanged(t, () => t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: CALLBACK_URL, attempt }), "invalid_argument", /attempt must be a positive integer/);
    }
  });
});

describe("configuration", () => {
  test("absurd values are refused and the stored config is unchanged", async () => {
    const { t } = await setup();
    await t.mutation(api.config.configure, { maxEventBatch: 50, heartbeatTimeoutMs: 30_000 });
    const config = await t.query(api.config.getConfig, {});
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ heartbeatTimeoutMs: 5 }, /heartbeatTimeoutMs must be an integer between 1000 and 3600000, got 5/],
      [{ maxEventBatch: 0 }, /maxEventBatch must be an integer between 1 and 1000, got 0/],
      [{ maxEventBatch: 20, heartbeatTimeoutMs: 5 }, /heartbeatTimeoutMs/],
      [{ maxArtifactBytes: 0 }, /maxArtifactBytes must be an integer between 1/],
      [{ maxArtifactBytes: 1e12 }, /maxArtifactBytes must be an integer/],
      [{ maxEventBytes: 10 }, /maxEventBytes must be an integer between 256/],
      [{ defaultMaxAttempts: 0 }, /defaultMaxAttempts must be an integer between 1 and 20/],
      [{ provisionGraceMs: Number.NaN }, /provisionGraceMs must be an integer .* got NaN/],
      [{ redact: ["ok-long-secret", "ab"] }, /redact\[1\] must be at least 4 characters/],
    ];
    for (const [patch, message] of cases) {
      await refusedUnchanged(t, () => t.mutation(api.config.configure, patch as never), "invalid_argument", message);
    }
    expect(await t.query(api.config.getConfig, {})).toEqual(config);
    expect(config).toMatchObject({ maxEventBatch: 50, heartbeatTimeoutMs: 30_000 });
  });
});

describe("HTTP", () => {
  async function raw(t: T, path: string, headers: Record<string, string>, body: BodyInit | undefined) {
    const res = await t.fetch(`/${path}`, { method: "POST", headers, body });
    return { status: res.status, body: (await res.json()) as any };
  }

  test("an event batch over maxEventBatch is 413 and stores nothing", async () => {
    const { t, rt, runId } = await runningCard();
    await t.mutation(api.config.configure, { maxEventBatch: 5 });
    const before = await snapshot(t);
    const r = await rt.events(["1", "2", "3", "4", "5", "6"]);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ ok: false, code: "too_large" });
    expect(r.body.message).toMatch(/batch has 6 events; the limit is 5/);
    expect(await snapshot(t)).toEqual(before);
    rt.seq = 0;
    expect((await rt.events(["1", "2", "3", "4", "5"])).body).toMatchObject({ stored: 5 });
    expect((await listAll(t, api.events.listEvents, { runId }))).toHaveLength(5);
  });

  test("a body over the JSON limit is 413", async () => {
    const { t, rt } = await runningCard();
    const before = await snapshot(t);
    const r = await rt.post("events", { events: [{ seq: 0, kind: "log", text: "x".repeat(1_100_000) }] });
    expect(r.status).toBe(413);
    expect(r.body.message).toMatch(/the limit is 1048576/);
    expect(await snapshot(t)).toEqual(before);
  });

  test("malformed JSON, unknown fields and bad values are 400 and store nothing", async () => {
    const { t, rt, runId } = await runningCard();
    const before = await snapshot(t);
    const cases: [string, string, RegExp, number?][] = [
      ["events", "{not json", /body is not valid JSON/],
      ["events", "", /body is not valid JSON/],
      ["complete", '{"status":"succeeded",', /body is not valid JSON/],
      ["inbox", "[1,2", /body is not valid JSON/],
      ["events", JSON.stringify({ events: [], extra: 1 }), /invalid body: .*extra/],
      ["events", JSON.stringify({ events: [{ seq: 0, kind: "log", txt: "typo" }] }), /invalid body: events\[0\].*txt/],
      ["events", JSON.stringify({}), /invalid body: events/],
      ["events", JSON.stringify([]), /invalid body/],
      ["events", JSON.stringify({ events: [{ seq: -1, kind: "log" }] }), /invalid body: events\[0\]\.seq/],
      ["events", JSON.stringify({ events: [{ seq: 1.5, kind: "log" }] }), /invalid body: events\[0\]\.seq/],
      ["events", JSON.stringify({ events: [{ seq: "1", kind: "log" }] }), /invalid body: events\[0\]\.seq/],
      ["events", JSON.stringify({ events: [{ seq: 0, kind: "" }] }), /invalid body: events\[0\]\.kind/],
      ["events", JSON.stringify({ events: [{ seq: 0, kind: "log", level: "fatal" }] }), /invalid body: events\[0\]\.level/],
      ["events", JSON.stringify({ events: [{ seq: 2e9, kind: "log" }] }), /event seq must be an integer from 0 to 1e9/],
      ["complete", JSON.stringify({ status: "succeeded", manifest: [], verdict: "great" }), /invalid body: .*verdict/],
      ["complete", JSON.stringify({ status: "done", manifest: [] }), /invalid body: status/],
      ["complete", JSON.stringify({ status: "succeeded", manifest: [{ name: "a.md", size: 3 }] }), /invalid body: manifest\[0\]/],
      ["complete", JSON.stringify({ status: "succeeded", manifest: Array.from({ length: 501 }, (_, i) => ({ name: `f${i}` })) }), /manifest lists 501 files; the limit is 500/, 413],
      ["inbox", JSON.stringify({ afterSeq: -2 }), /invalid body: afterSeq/],
      ["inbox", JSON.stringify({ afterSeq: 0.5 }), /invalid body: afterSeq/],
      ["inbox", JSON.stringify({ afterSeq: 0, extra: true }), /invalid body/],
    ];
    for (const [path, body, message, status = 400] of cases) {
      const r = await raw(t, path, rt.headers(), body);
      expect(r.status, `${path} ${body.slice(0, 80)}`).toBe(status);
      expect(r.body.ok).toBe(false);
      expect(r.body.message).toMatch(message);
      expect(r.body.code).toMatch(/^(invalid_argument|too_large)$/);
      // A body that does not match its schema names the first field at fault, as the message does.
      if (/invalid body/.test(r.body.message)) expect(r.body.message).toContain(`invalid body: ${r.body.path ?? "(body)"}:`);
    }
    const level = await raw(t, "events", rt.headers(), JSON.stringify({ events: [{ seq: 0, kind: "log", level: "fatal" }] }));
    expect(level.body).toMatchObject({ code: "invalid_argument", path: "events[0].level" });
    expect(level.body.message).toMatch(/"debug"\|"info"\|"warn"\|"error"/);
    expect(await snapshot(t)).toEqual(before);
    expect(await runStatus(t, runId)).toBe("running");
    // A malformed generation header is 400 too.
    for (const gen of ["", "1.0", "-1", "one", "1".repeat(16)]) {
      const r = await raw(t, "heartbeat", rt.headers({ "x-lakitu-generation": gen }), "{}");
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/X-Lakitu-Generation/);
    }
  });

  test("an artifact over maxArtifactBytes is 413 and nothing reaches storage", async () => {
    const { t, rt, runId } = await runningCard();
    await t.mutation(api.config.configure, { maxArtifactBytes: 100 });
    const before = await snapshot(t);
    const r = await rt.upload("report.md", "x".repeat(101));
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ ok: false, code: "too_large" });
    expect(r.body.message).toMatch(/artifact is 101 bytes; the limit is 100/);
    expect(await snapshot(t)).toEqual(before);
    expect((await rt.upload("report.md", "x".repeat(100))).status).toBe(200);
    expect(await listAll(t, api.artifacts.listArtifacts, { runId })).toHaveLength(1);
  });

  test("bad artifact names, types and bodies are 400 and nothing reaches storage", async () => {
    const { t, rt } = await runningCard();
    const before = await snapshot(t);
    const names: [string, RegExp][] = [
      ["../x.md", /empty, "\." or "\.\." segment/],
      ["/etc/passwd", /is absolute/],
      ["a/../../b", /empty, "\." or "\.\." segment/],
      ["bad\u0001name.md", /control characters/],
      ["C:\\x", /backslash/],
      ["C:/x", /is absolute/],
      ["~/x", /is absolute/],
      ["a//b.md", /empty, "\." or "\.\." segment/],
      ["dir/", /empty, "\." or "\.\." segment/],
      ["n".repeat(201), /201 characters; the limit is 200/],
      ["", /missing \?name=/],
    ];
    for (const [name, message] of names) {
      const r = await rt.upload(name, "some content");
      expect(r.status, JSON.stringify(name)).toBe(400);
      expect(r.body).toMatchObject({ ok: false, code: "invalid_argument" });
      expect(r.body.message).toMatch(message);
    }
    const typed = await rt.upload("report.md", "some content", "docx");
    expect(typed.status).toBe(400);
    expect(typed.body.message).toMatch(/artifact type "docx" is unknown; use one of markdown/);
    const noName = await raw(t, "artifacts", { ...rt.headers(), "content-type": "application/octet-stream" }, "abc");
    expect(noName.status).toBe(400);
    expect(noName.body.message).toMatch(/missing \?name=/);
    const empty = await raw(t, "artifacts?name=a.md", { ...rt.headers(), "content-type": "application/octet-stream" }, undefined);
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/artifact is empty/);
    expect(await snapshot(t)).toEqual(before);
  });
});
