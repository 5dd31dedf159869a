/**
 * The run view's functions the board UI needs beyond what `npx lakitu init` writes in lakitu.ts: a run,
 * its artifacts and their download URLs. ⚠️ AUTH CHECK as in lakitu.ts: the board's owner only.
 */
import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { query, type QueryCtx } from "./_generated/server";
import { lakitu } from "./lakitu";

async function requireBoardOf(ctx: QueryCtx, found: { boardId: string } | null): Promise<void> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity || !found) throw new Error("Not found");
  const board = await lakitu.getBoard(ctx, { boardId: found.boardId });
  if (!board || board.board.owner !== identity.subject) throw new Error("Not found");
}

export const getRun = query({
  args: { runId: v.string() },
  handler: async (ctx, args) => {
    const run = await lakitu.getRun(ctx, args);
    await requireBoardOf(ctx, run);
    return run;
  },
});

export const listArtifacts = query({
  args: { runId: v.optional(v.string()), cardId: v.optional(v.string()), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    const owner = args.runId ? await lakitu.getRun(ctx, { runId: args.runId }) : args.cardId ? await lakitu.getCard(ctx, { cardId: args.cardId }) : null;
    await requireBoardOf(ctx, owner);
    return await lakitu.listArtifacts(ctx, args);
  },
});

export const getArtifactUrl = query({
  args: { artifactId: v.string() },
  handler: async (ctx, args) => {
    const artifact = await lakitu.getArtifact(ctx, args);
    await requireBoardOf(ctx, artifact && (await lakitu.getCard(ctx, { cardId: artifact.cardId })));
    return await lakitu.getArtifactUrl(ctx, args);
  },
});
