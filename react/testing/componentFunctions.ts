/**
 * `LakituFunctions` for UI tests: references made by name (as `lakitu dev` makes them), answered by the
 * component's own functions in convex-test, with what an app's wrapper fills in (providerHandle and
 * callbackUrl for runCard/resumeCard) added on the way. So the dashboard under test calls the real
 * component through the same names the dev server serves.
 */
import { getFunctionName, makeFunctionReference, type FunctionReference } from "convex/server";
import type { Value } from "convex/values";
import { api } from "../../convex/component/_generated/api.js";
import { LAKITU_MUTATION_NAMES, LAKITU_QUERY_NAMES, type LakituFunctions } from "../functions.js";
import type { MutationRunner, QueryRunner } from "./convexTestClient.js";

type Runs = { query: (...args: any[]) => Promise<unknown>; mutation: (...args: any[]) => Promise<unknown> };

const QUERIES: Record<(typeof LAKITU_QUERY_NAMES)[number], FunctionReference<"query", any>> = {
  getBoard: api.boards.getBoard,
  listCards: api.cards.listCards,
  getCard: api.cards.getCard,
  listRuns: api.runs.listRuns,
  getRun: api.runs.getRun,
  listEvents: api.events.listEvents,
  listArtifacts: api.artifacts.listArtifacts,
  getArtifactUrl: api.artifacts.getArtifactUrl,
  listBoards: api.boards.listBoards,
  listTransitions: api.runs.listTransitions,
  transcript: api.transcripts.transcript,
  getUsage: api.usage.getUsage,
  getPlan: api.cards.getPlan,
  listActiveRuns: api.runs.listActive,
};

const MUTATIONS: Record<(typeof LAKITU_MUTATION_NAMES)[number], FunctionReference<"mutation", any>> = {
  createBoard: api.boards.createBoard,
  addCard: api.cards.addCard,
  updateCard: api.lifecycle.updateCard,
  deleteCard: api.lifecycle.deleteCard,
  runCard: api.runs.runCard,
  stopCard: api.runs.stopCard,
  resumeCard: api.runs.resumeCard,
  reviewRun: api.artifacts.reviewRun,
  sendMessage: api.inbox.sendMessage,
};

/** Every `LakituFunctions` key as a reference by name, or only `only` of them (the rest left out). */
export function functionsByName(only?: readonly (keyof LakituFunctions)[]): LakituFunctions {
  const out: Record<string, unknown> = {};
  for (const name of LAKITU_QUERY_NAMES) if (!only || only.includes(name)) out[name] = makeFunctionReference<"query">(name);
  for (const name of LAKITU_MUTATION_NAMES) if (!only || only.includes(name)) out[name] = makeFunctionReference<"mutation">(name);
  return out as LakituFunctions;
}

/** Runners that answer by-name references with the component's functions in convex-test `t`. */
export function componentRunners(t: Runs, target: { providerHandle: string; callbackUrl: string }): { run: QueryRunner; mutate: MutationRunner } {
  return {
    run: async (ref, args) => await t.query(lookup(QUERIES, ref), args),
    mutate: async (ref, args) => {
      const name = getFunctionName(ref);
      const filled: Record<string, Value> = name === "runCard" || name === "resumeCard" ? { ...args, ...target } : args;
      return await t.mutation(lookup(MUTATIONS, ref), filled);
    },
  };
}

function lookup<R>(table: Record<string, R>, ref: FunctionReference<any, any>): R {
  const name = getFunctionName(ref);
  const found = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!found) throw new Error(`componentRunners: no component function for ${name}; known: ${Object.keys(table).join(", ")}`);
  return found;
}

/**
 * A `fetch` that serves convex-test's file storage URLs (`…/api/storage/<id>`) from the deployment, so
 * an artifact preview reads the bytes the runtime uploaded; anything else is refused (a test never
 * reaches the network).
 */
export function storageFetch(t: { run: <R>(fn: (ctx: any) => Promise<R>) => Promise<R> }): typeof fetch {
  return async (input) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const key = /\/api\/storage\/([^/?#]+)$/.exec(url)?.[1];
    if (!key) throw new Error(`storageFetch: ${url} is not a storage URL of the test deployment`);
    // convex-test names a file in its URL by its sha256, not its id.
    const file: { bytes: ArrayBuffer; type: string } | null = await t.run(async (ctx) => {
      const files: { _id: string; sha256: string }[] = await ctx.db.system.query("_storage").collect();
      const found = files.find((f) => f.sha256 === decodeURIComponent(key) || f._id === decodeURIComponent(key));
      const blob: Blob | null = found ? await ctx.storage.get(found._id) : null;
      return blob ? { bytes: await blob.arrayBuffer(), type: blob.type } : null;
    });
    return file ? new Response(file.bytes, { headers: { "content-type": file.type || "application/octet-stream" } }) : new Response("not found", { status: 404 });
  };
}
