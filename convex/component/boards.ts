import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import schema from "./schema.js";
import { mapPage, pageOptions, vPage } from "../model/pages.js";
import { type QueryCtx } from "./_generated/server.js";
import { mutation, query } from "../model/functions.js";
import { fail } from "../shared/errors.js";
import { MAX_STAGES, MAX_LIST_LIMIT } from "../shared/defaults.js";
import { vStageInput, vStagePatch } from "../shared/validators.js";
import { boardStages, load, toId } from "../model/load.js";
import { checkName, checkStage, checkText } from "../model/validate.js";
import { publicBoard, publicStage, vPublicBoard, vPublicStage } from "../model/public.js";
import { getConfig } from "../model/config.js";
import { checkAppKsaNames, checkStageKsas, knownKsaNames } from "../model/ksas.js";

/**
 * `appKsas`: names of the app's own KSAs (lakitu/ksa/) its stages may list, besides the built-ins and
 * those `lakitu publish` pinned in config. The client fills it from its `ksas` option.
 */
const vAppKsas = v.optional(v.array(v.string()));

/** The KSA names a stage written now may list. */
async function knownKsas(ctx: QueryCtx, appKsas: string[] | undefined): Promise<string[]> {
  checkAppKsaNames("appKsas", appKsas);
  return knownKsaNames((await getConfig(ctx)).appKsas, appKsas);
}

/** Creates a board with its ordered stages. Rejects empty or duplicate stage names and unknown KSA names. */
export const createBoard = mutation({
  args: {
    name: v.string(),
    owner: v.optional(v.string()),
    description: v.optional(v.string()),
    stages: v.array(vStageInput),
    appKsas: vAppKsas,
  },
  returns: v.object({ boardId: v.string(), stageIds: v.array(v.string()) }),
  handler: async (ctx, args) => {
    const name = checkName("name", args.name);
    checkText("description", args.description);
    if (args.stages.length === 0) fail("invalid_argument", "a board needs at least one stage");
    if (args.stages.length > MAX_STAGES) fail("invalid_argument", `a board has at most ${MAX_STAGES} stages, got ${args.stages.length}`);
    const stages = args.stages.map((s, i) => checkStage(`stages[${i}]`, s));
    const known = await knownKsas(ctx, args.appKsas);
    stages.forEach((s, i) => checkStageKsas(`stages[${i}]`, s, known));
    const seen = new Set<string>();
    for (const s of stages) {
      const key = s.name.toLowerCase();
      if (seen.has(key)) fail("invalid_argument", `stage name "${s.name}" appears twice; stage names must be unique on a board`);
      seen.add(key);
    }
    const boardId = await ctx.db.insert("boards", { name, owner: args.owner, description: args.description });
    const stageIds: string[] = [];
    for (const [position, s] of stages.entries()) {
      stageIds.push(await ctx.db.insert("stages", { boardId, position, ...s }));
    }
    return { boardId, stageIds };
  },
});

export const getBoard = query({
  args: { boardId: v.string() },
  returns: v.union(v.null(), v.object({ board: vPublicBoard, stages: v.array(vPublicStage) })),
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("boards", args.boardId);
    const board = id && (await ctx.db.get(id));
    if (!board) return null;
    const stages = await boardStages(ctx, board._id);
    return { board: publicBoard(board), stages: stages.map(publicStage) };
  },
});

/**
 * Boards of an owner (or the boards with no owner), newest first, as a Convex page: pass
 * `paginationOpts` (numItems 1–200) and feed `continueCursor` back, or use it with `usePaginatedQuery`.
 */
export const listBoards = query({
  args: { owner: v.optional(v.string()), paginationOpts: paginationOptsValidator },
  returns: vPage(vPublicBoard),
  handler: async (ctx, args) => {
    const page = await paginator(ctx.db, schema)
      .query("boards")
      .withIndex("by_owner", (q) => q.eq("owner", args.owner))
      .order("desc")
      .paginate(pageOptions(args.paginationOpts, MAX_LIST_LIMIT));
    return mapPage(page, publicBoard);
  },
});

/** Appends a stage at the end of the board (or at `position`, shifting later stages). */
export const addStage = mutation({
  args: { boardId: v.string(), stage: vStageInput, position: v.optional(v.number()), appKsas: vAppKsas },
  returns: v.string(),
  handler: async (ctx, args) => {
    const board = await load(ctx, "boards", args.boardId);
    const stage = checkStage("stage", args.stage);
    checkStageKsas("stage", stage, await knownKsas(ctx, args.appKsas));
    const stages = await boardStages(ctx, board._id);
    if (stages.length >= MAX_STAGES) fail("invalid_argument", `board ${board._id} already has ${MAX_STAGES} stages`);
    if (stages.some((s) => s.name.toLowerCase() === stage.name.toLowerCase())) {
      fail("invalid_argument", `board ${board._id} already has a stage named "${stage.name}"`);
    }
    const position = args.position ?? stages.length;
    if (!Number.isInteger(position) || position < 0 || position > stages.length) {
      fail("invalid_argument", `position must be an integer from 0 to ${stages.length}, got ${position}`);
    }
    for (const s of stages) if (s.position >= position) await ctx.db.patch(s._id, { position: s.position + 1 });
    return await ctx.db.insert("stages", { boardId: board._id, position, ...stage });
  },
});

/**
 * Changes a stage's fields; only the given fields change. Runs already started keep the settings they
 * started with (their `runSettings` copy); the next run uses the new ones. A new `allowedKsas` must name known
 * KSAs; a stored list is not re-checked when other fields change.
 */
export const updateStage = mutation({
  args: { stageId: v.string(), patch: vStagePatch, appKsas: vAppKsas },
  returns: vPublicStage,
  handler: async (ctx, args) => {
    const stage = await load(ctx, "stages", args.stageId);
    const patch = checkStage("patch", args.patch);
    checkStageKsas("patch", patch, await knownKsas(ctx, args.appKsas));
    const merged = { ...stage, ...patch };
    checkStage("stage", merged);
    if (patch.name !== undefined && patch.name.toLowerCase() !== stage.name.toLowerCase()) {
      const others = await boardStages(ctx, stage.boardId);
      if (others.some((s) => s._id !== stage._id && s.name.toLowerCase() === patch.name!.toLowerCase())) {
        fail("invalid_argument", `board ${stage.boardId} already has a stage named "${patch.name}"`);
      }
    }
    await ctx.db.patch(toId(ctx, "stages", args.stageId), patch);
    return publicStage((await ctx.db.get(stage._id))!);
  },
});
