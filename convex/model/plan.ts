/**
 * The `plan` KSA's task list, one `planTasks` row per task (not an array on the card: a card document
 * must not grow while a run works). At most MAX_PLAN_TASKS per card, so a whole plan is one bounded read.
 */
import type { Doc, Id } from "../component/_generated/dataModel.js";
import type { MutationCtx, QueryCtx } from "../component/_generated/server.js";
import { MAX_PLAN_TASKS } from "../shared/defaults.js";
import { fail } from "../shared/errors.js";
import type { PlanTask } from "../shared/validators.js";

export const MAX_PLAN_TITLE_CHARS = 500;
export const MAX_PLAN_NOTE_CHARS = 2_000;

function publicTask(row: Doc<"planTasks">): PlanTask {
  return { id: `t${row.seq}`, title: row.title, kind: row.kind, status: row.status, ...(row.note !== undefined ? { note: row.note } : {}) };
}

/** The card's plan in order of creation. */
export async function planOf(ctx: QueryCtx, cardId: Id<"cards">): Promise<PlanTask[]> {
  const rows = await ctx.db.query("planTasks").withIndex("by_card_seq", (q) => q.eq("cardId", cardId)).take(MAX_PLAN_TASKS);
  return rows.map(publicTask);
}

export async function addPlanTask(ctx: MutationCtx, cardId: Id<"cards">, args: { title: unknown; kind?: unknown }): Promise<PlanTask> {
  const last = await ctx.db.query("planTasks").withIndex("by_card_seq", (q) => q.eq("cardId", cardId)).order("desc").first();
  const seq = (last?.seq ?? 0) + 1;
  if (seq > MAX_PLAN_TASKS) fail("too_large", `the plan already has ${MAX_PLAN_TASKS} tasks; mark some done or update them`);
  const kind = args.kind === "goal" || args.kind === "deliverable" ? args.kind : "task";
  const id = await ctx.db.insert("planTasks", { cardId, seq, title: String(args.title).slice(0, MAX_PLAN_TITLE_CHARS), kind, status: "todo" });
  return publicTask((await ctx.db.get(id))!);
}

export async function updatePlanTask(
  ctx: MutationCtx,
  cardId: Id<"cards">,
  args: { id: unknown; status: PlanTask["status"]; note?: unknown },
): Promise<PlanTask> {
  const m = typeof args.id === "string" ? /^t([1-9]\d{0,5})$/.exec(args.id) : null;
  const row = m
    ? await ctx.db.query("planTasks").withIndex("by_card_seq", (q) => q.eq("cardId", cardId).eq("seq", Number(m[1]))).unique()
    : null;
  if (!row) fail("not_found", `plan task ${String(args.id)} does not exist; plan.get() lists the tasks`);
  await ctx.db.patch(row._id, { status: args.status, ...(args.note !== undefined ? { note: String(args.note).slice(0, MAX_PLAN_NOTE_CHARS) } : {}) });
  return publicTask((await ctx.db.get(row._id))!);
}
