/** Loading documents by the string ids the parent app holds, with clear errors for bad ids. */
import type { Doc, Id, TableNames } from "../component/_generated/dataModel.js";
import type { QueryCtx } from "../component/_generated/server.js";
import { fail } from "../shared/errors.js";

const WHAT: Partial<Record<TableNames, string>> = {
  boards: "board",
  stages: "stage",
  cards: "card",
  runs: "run",
  sessions: "session",
  artifacts: "artifact",
};

export function toId<T extends TableNames>(ctx: QueryCtx, table: T, id: string): Id<T> {
  const normalized = ctx.db.normalizeId(table, id);
  if (!normalized) fail("not_found", `"${id}" is not a ${WHAT[table] ?? table} id of this component`);
  return normalized;
}

export async function load<T extends TableNames>(ctx: QueryCtx, table: T, id: string): Promise<Doc<T>> {
  const doc = await ctx.db.get(toId(ctx, table, id));
  if (!doc) fail("not_found", `${WHAT[table] ?? table} ${id} does not exist (deleted, or from another deployment?)`);
  return doc as Doc<T>;
}

/** A board's stages in position order (bounded by MAX_STAGES at write time). */
export async function boardStages(ctx: QueryCtx, boardId: Id<"boards">): Promise<Doc<"stages">[]> {
  return await ctx.db
    .query("stages")
    .withIndex("by_board_position", (q) => q.eq("boardId", boardId))
    .take(100);
}
