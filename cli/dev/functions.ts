/**
 * The names `lakitu dev`'s local API answers: one per key of `LakituFunctions` (react/functions.ts),
 * each mapped to the component function of the same meaning, with its args checked by zod first (a
 * bad field is a 400 naming it) and what an app's wrapper would fill in filled here: `providerHandle`
 * and `callbackUrl` for runCard/resumeCard, `reviewer: "dev"` for reviewRun, the app's KSAs for
 * createBoard. Strict objects: a caller cannot pass a field the wrapper owns (e.g. its own
 * `providerHandle`).
 */
import { z } from "zod";
import type { FunctionReference } from "convex/server";
import { api } from "../../convex/component/_generated/api.js";
import { LAKITU_MUTATION_NAMES, LAKITU_QUERY_NAMES, type LakituFunctions } from "../../react/functions.js";

export type DevContext = {
  providerHandle: string;
  callbackUrl: string;
  /** The app's own KSA names (stages may list them). */
  appKsas: string[];
  /** Model for stages that name none; undefined = the component's default (scripted). */
  model?: string;
};

type Kind = "query" | "mutation";
export type DevFunction = {
  kind: Kind;
  ref: FunctionReference<Kind, "public" | "internal">;
  args: z.ZodType<Record<string, unknown>>;
  /** The component's args from the checked ones (defaults to the same). */
  fill?: (args: Record<string, any>, ctx: DevContext) => Record<string, unknown>;
};

const id = z.string().min(1);
const paginationOpts = z.strictObject({
  numItems: z.number(),
  cursor: z.string().nullable(),
  id: z.number().optional(),
  endCursor: z.string().nullable().optional(),
  maximumRowsRead: z.number().optional(),
  maximumBytesRead: z.number().optional(),
});
const page = <S extends z.ZodRawShape>(shape: S) => z.strictObject({ ...shape, paginationOpts });
const raise = z.strictObject({ maxSteps: z.number().optional(), maxCostUsd: z.number().optional(), maxDurationMs: z.number().optional() });
/** Stages are checked field by field by the component's own validator (`vStageInput`) when it runs. */
const stage = z.record(z.string(), z.unknown());

const q = (ref: FunctionReference<"query", any>, args: z.ZodType<Record<string, unknown>>): DevFunction => ({ kind: "query", ref, args });
const m = (ref: FunctionReference<"mutation", any>, args: z.ZodType<Record<string, unknown>>, fill?: DevFunction["fill"]): DevFunction => ({ kind: "mutation", ref, args, fill });

const runTarget = (args: Record<string, any>, ctx: DevContext) => ({ ...args, providerHandle: ctx.providerHandle, callbackUrl: ctx.callbackUrl });

export const DEV_FUNCTIONS: { [K in keyof LakituFunctions]-?: DevFunction } = {
  getBoard: q(api.boards.getBoard, z.strictObject({ boardId: id })),
  listCards: q(api.cards.listCards, page({ boardId: id, stageId: id.optional() })),
  getCard: q(api.cards.getCard, z.strictObject({ cardId: id })),
  listRuns: q(api.runs.listRuns, page({ cardId: id })),
  getRun: q(api.runs.getRun, z.strictObject({ runId: id })),
  listEvents: q(api.events.listEvents, page({ runId: id, afterSeq: z.number().optional() })),
  listArtifacts: q(api.artifacts.listArtifacts, page({ runId: id.optional(), cardId: id.optional() })),
  getArtifactUrl: q(api.artifacts.getArtifactUrl, z.strictObject({ artifactId: id })),
  listBoards: q(api.boards.listBoards, page({})),
  listTransitions: q(api.runs.listTransitions, page({ cardId: id })),
  transcript: q(api.transcripts.transcript, page({ cardId: id })),
  getUsage: q(api.usage.getUsage, z.union([z.strictObject({ cardId: id }), z.strictObject({ runId: id }), z.strictObject({ boardId: id })])),
  getPlan: q(api.cards.getPlan, z.strictObject({ cardId: id })),
  listActiveRuns: q(api.runs.listActive, page({})),
  createBoard: m(api.boards.createBoard, z.strictObject({ name: z.string(), description: z.string().optional(), stages: z.array(stage) }), (args, ctx) => ({
    ...args,
    stages: withModel(args.stages as Array<Record<string, unknown>>, ctx.model),
    ...(ctx.appKsas.length ? { appKsas: ctx.appKsas } : {}),
  })),
  addCard: m(api.cards.addCard, z.strictObject({ boardId: id, title: z.string(), description: z.string().optional(), stageId: id.optional(), context: z.record(z.string(), z.string()).optional() })),
  updateCard: m(api.lifecycle.updateCard, z.strictObject({ cardId: id, title: z.string().optional(), description: z.string().nullable().optional(), context: z.record(z.string(), z.string()).nullable().optional() })),
  deleteCard: m(api.lifecycle.deleteCard, z.strictObject({ cardId: id, reason: z.string().optional() })),
  runCard: m(api.runs.runCard, z.strictObject({ cardId: id, attempt: z.number().optional() }), runTarget),
  stopCard: m(api.runs.stopCard, z.strictObject({ cardId: id, reason: z.string().optional() })),
  resumeCard: m(api.runs.resumeCard, z.strictObject({ cardId: id, raise: raise.optional(), note: z.string().optional() }), runTarget),
  reviewRun: m(api.artifacts.reviewRun, z.strictObject({ runId: id, decision: z.enum(["approved", "rejected"]), note: z.string().optional() }), (args) => ({ ...args, reviewer: "dev" })),
  sendMessage: m(api.inbox.sendMessage, z.strictObject({ runId: id, text: z.string() }), (args) => ({ ...args, author: "dev" })),
};

/** Stages without a model get `model` (the dev server's `--model`); agent stages only. */
export function withModel(stages: Array<Record<string, unknown>>, model: string | undefined): Array<Record<string, unknown>> {
  if (!model) return stages;
  return stages.map((s) => (s.kind === "agent" && s.model === undefined ? { ...s, model } : s));
}

export const QUERY_NAMES: readonly string[] = LAKITU_QUERY_NAMES;
export const MUTATION_NAMES: readonly string[] = LAKITU_MUTATION_NAMES;

/** The function of `name` if it is a `kind` (query names are not mutations and vice versa). */
export function devFunction(kind: Kind, name: string): DevFunction | undefined {
  const names = kind === "query" ? QUERY_NAMES : MUTATION_NAMES;
  return names.includes(name) ? DEV_FUNCTIONS[name as keyof LakituFunctions] : undefined;
}
