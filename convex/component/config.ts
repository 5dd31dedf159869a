import { v } from "convex/values";
import { mutation, query } from "../model/functions.js";
import { vConfigPatch, vModelPrice } from "../shared/validators.js";
import { configDoc, getConfig as resolve } from "../model/config.js";
import { checkConfig } from "../model/validate.js";

const vResolved = v.object({
  heartbeatTimeoutMs: v.number(),
  provisionGraceMs: v.number(),
  defaultMaxAttempts: v.number(),
  defaultMaxDurationMs: v.number(),
  defaultIdleTimeoutMs: v.number(),
  maxEventBatch: v.number(),
  maxEventBytes: v.number(),
  maxArtifactBytes: v.number(),
  maxRunArtifacts: v.number(),
  maxRunArtifactBytes: v.number(),
  maxRunEvents: v.number(),
  maxArtifactVersionsPerName: v.number(),
  retention: v.object({ eventsDays: v.optional(v.number()), supersededArtifactsDays: v.optional(v.number()) }),
  template: v.optional(v.string()),
  templateVersion: v.optional(v.string()),
  redact: v.array(v.string()),
  secrets: v.array(v.string()),
  webEnabled: v.boolean(),
  prices: v.array(vModelPrice),
  appKsas: v.array(v.string()),
});

/** Changes the stored configuration; only the given fields change. */
export const configure = mutation({
  args: vConfigPatch,
  returns: vResolved,
  handler: async (ctx, patch) => {
    checkConfig(patch);
    const doc = await configDoc(ctx);
    if (doc) await ctx.db.patch(doc._id, patch);
    else await ctx.db.insert("config", patch);
    return await resolve(ctx);
  },
});

/** The configuration in force: stored values over defaults. */
export const getConfig = query({
  args: {},
  returns: vResolved,
  handler: async (ctx) => await resolve(ctx),
});
