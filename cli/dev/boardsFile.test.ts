/**
 * The declared boards file: its shape (zod), each stage (the component's `vStageInput`) and then the
 * component's own createBoard checks, every problem naming the file and the field path.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import { startEmbeddedDeployment, type EmbeddedDeployment } from "../embedded/deployment.js";
import { CliError } from "../errors.js";
import { createDeclaredBoards, readBoardsFile } from "./boardsFile.js";

let dir: string;
let deployment: EmbeddedDeployment;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lakitu-boards-"));
  mkdirSync(join(dir, "lakitu"));
  deployment = await startEmbeddedDeployment({ providerModule: () => import("../embedded/provider.js") });
}, 60_000);

afterAll(async () => {
  await deployment?.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(content: unknown, name = "lakitu/boards.json") {
  writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
}

function problem(f: () => unknown): CliError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return e as CliError;
  }
  throw new Error("expected a CliError");
}

const text = (e: CliError) => [e.message, ...e.details].join("\n");

describe("readBoardsFile", () => {
  test("no default file: no boards; an explicit file that is missing: an error naming it", () => {
    const empty = mkdtempSync(join(tmpdir(), "lakitu-boards-none-"));
    try {
      expect(readBoardsFile(empty)).toBeNull();
      expect(problem(() => readBoardsFile(empty, "my-boards.json")).message).toBe("my-boards.json: no such file");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("not JSON: the file and the parser's complaint", () => {
    write("{ boards: [");
    const e = problem(() => readBoardsFile(dir));
    expect(e.message).toMatch(/^lakitu\/boards\.json: not valid JSON: /);
    expect(e.code).toBe("invalid_boards");
  });

  test("a wrong shape names the field path", () => {
    write({ boards: [{ name: "A", stages: [{ name: "Done", kind: "done" }] }, { name: 7, stages: [] }] });
    const e = problem(() => readBoardsFile(dir));
    expect(text(e)).toContain("boards[1].name: ");
    expect(text(e)).toContain("boards[1].stages: ");
    write({ boards: [{ name: "A", stages: [{ name: "Done", kind: "done" }], owner: "me" }] });
    expect(text(problem(() => readBoardsFile(dir)))).toMatch(/boards\[0\]: .*owner/);
  });

  test("a stage is checked by the component's validator, naming the stage field", () => {
    write({ boards: [{ name: "A", stages: [{ name: "Write", kind: "agent", deliverables: [{ name: "a.md", type: "word" }] }] }] }, "custom.json");
    const e = problem(() => readBoardsFile(dir, "custom.json"));
    expect(e.message).toMatch(/^custom\.json: boards\[0\]\.stages\[0\]\.deliverables\[0\]\.type: /);
    write({ boards: [{ name: "A", stages: [{ name: "Write", kind: "agent", colour: "red" }] }] }, "custom.json");
    expect(problem(() => readBoardsFile(dir, "custom.json")).message).toBe("custom.json: boards[0].stages[0].colour: unknown field");
  });

  test("a valid file is read as it is", () => {
    const boards = [{ name: "A", description: "first", stages: [{ name: "Write", kind: "agent", goals: ["write"] }, { name: "Done", kind: "done" }] }];
    write({ boards });
    expect(readBoardsFile(dir)).toEqual({ path: "lakitu/boards.json", boards });
  });
});

describe("createDeclaredBoards", () => {
  const create = (b: { name: string; description?: string; stages: unknown[] }) => deployment.t.mutation(api.boards.createBoard, b as never);

  test("the component's createBoard checks apply, naming the file, the board and the component's path", async () => {
    write({ boards: [{ name: "Fine", stages: [{ name: "Done", kind: "done" }] }, { name: "Bad", stages: [{ name: "Write", kind: "agent", deliverables: [{ name: "../escape.md", type: "markdown" }] }] }] });
    const file = readBoardsFile(dir)!;
    const e = (await createDeclaredBoards(file, create).catch((x: unknown) => x)) as CliError;
    expect(e).toBeInstanceOf(CliError);
    expect(e.message).toMatch(/^lakitu\/boards\.json: boards\[1\]\.stages\[0\]\.deliverables\[0\]: deliverable "\.\.\/escape\.md": .*\(invalid_argument\)$/);
  });

  test("valid boards are created and their ids returned in order", async () => {
    write({ boards: [{ name: "One", stages: [{ name: "Done", kind: "done" }] }, { name: "Two", stages: [{ name: "Todo", kind: "human" }] }] });
    const ids = await createDeclaredBoards(readBoardsFile(dir)!, create);
    expect(ids).toHaveLength(2);
    const names = await Promise.all(ids.map(async (boardId) => (await deployment.t.query(api.boards.getBoard, { boardId }))?.board.name));
    expect(names).toEqual(["One", "Two"]);
  });
});
