/**
 * The project's declared boards: `lakitu/boards.json` (or `lakitu dev --boards FILE`),
 * `{ "boards": [ { "name", "description"?, "stages": StageInput[] } ] }`. The shape is checked with
 * zod, each stage with the component's own validator (`vStageInput`), and then each board is created
 * by the component's `createBoard`, whose checks (names, limits, deliverables, KSAs) apply as they
 * would in an app. Every problem names the file and the field path (`boards[0].stages[1].kind`).
 */
import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { z } from "zod";
import { validate, ValidationError } from "convex-helpers/validators";
import { ConvexError } from "convex/values";
import { vStageInput } from "../../convex/shared/validators.js";
import { CliError } from "../errors.js";

export const DEFAULT_BOARDS_FILE = "lakitu/boards.json";

const fileSchema = z.strictObject({
  boards: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string().optional(),
      stages: z.array(z.record(z.string(), z.unknown())).min(1),
    }),
  ),
});

export type DeclaredBoard = z.infer<typeof fileSchema>["boards"][number];
export type BoardsFile = { path: string; boards: DeclaredBoard[] };

function invalid(file: string, problems: string[]): CliError {
  return new CliError(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems`}`, "fix the boards file and run lakitu dev again", "invalid_boards", problems.length > 1 ? problems : []);
}

/**
 * Reads the boards file: `explicit` (from `--boards`, must exist) or the default one (absent = no
 * boards, returns null). Throws a `CliError` naming the file and the field.
 */
export function readBoardsFile(cwd: string, explicit?: string): BoardsFile | null {
  const path = resolve(cwd, explicit ?? DEFAULT_BOARDS_FILE);
  const shown = relative(cwd, path) || path;
  if (!existsSync(path)) {
    if (explicit === undefined) return null;
    throw new CliError(`${shown}: no such file`, "pass --boards with the path of a boards file, or leave it out to start with no boards", "invalid_boards");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw invalid(shown, [`not valid JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(shown, parsed.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`));
  const problems: string[] = [];
  parsed.data.boards.forEach((b, i) =>
    b.stages.forEach((s, j) => {
      try {
        validate(vStageInput, s, { throw: true, _pathPrefix: `boards[${i}].stages[${j}]` });
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        problems.push(`${e.path ?? `boards[${i}].stages[${j}]`}: ${e.expected === "nothing" ? "unknown field" : `expected ${e.expected}, got ${e.got}`}`);
      }
    }),
  );
  if (problems.length) throw invalid(shown, problems);
  return { path: shown, boards: parsed.data.boards };
}

/** Creates the declared boards; a component error names the file, the board and the component's field path. */
export async function createDeclaredBoards(file: BoardsFile, create: (board: DeclaredBoard) => Promise<{ boardId: string }>): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, board] of file.boards.entries()) {
    try {
      ids.push((await create(board)).boardId);
    } catch (e) {
      if (!(e instanceof ConvexError)) throw e;
      const data = e.data as { code?: string; message?: string; path?: string };
      const at = data.path ? `boards[${i}].${data.path}` : `boards[${i}]`;
      throw invalid(file.path, [`${at}: ${data.message ?? String(e.message)} (${data.code ?? "error"})`]);
    }
  }
  return ids;
}

/** zod's path as `boards[0].stages[1].name`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(root)";
}
