/**
 * The files `lakitu init` writes whole: the app's Lakitu functions, the provider action, the example
 * KSA and the env list. `ext` is "" or ".js", following how the app's own files import _generated.
 */

import { APP_KSAS_MODULE } from "../build/appKsasModule.js";

export const PROVIDER_MODULE = "lakitu_sandbox";
export const FUNCTIONS_MODULE = "lakitu";

export function lakituFunctions(ext: string): string {
  return `/**
 * Lakitu in this app (written by \`npx lakitu init\`; yours to change): the client and the functions a
 * kanban UI calls. Boards, cards, runs and artifacts live in the Lakitu component; these functions
 * decide who may touch them. The component reaps idle sandboxes by itself (its own cron).
 *
 * \`LakituDashboard\` from lakitu/react renders a whole board over these: getBoard: api.lakitu.board,
 * listCards: cards, getCard: card, listRuns: runs, getRun, listEvents: events, listArtifacts: artifacts,
 * getArtifactUrl: artifactUrl, addCard, runCard: run, stopCard: stop, resumeCard: resume.
 *
 * ⚠️ AUTH CHECK: every function below goes through \`requireUser\` / \`requireBoard\`. As written, a
 * signed-in user may create boards and use the boards they own. Make them your app's rules before
 * you deploy.
 */
import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { Lakitu, vStageInput, type StageInput } from "lakitu";
import { components, internal } from "./_generated/api${ext}";
import { mutation, query, type QueryCtx } from "./_generated/server${ext}";
import { LAKITU_APP_KSAS } from "./${APP_KSAS_MODULE}${ext}";

// Annotated on purpose: this module is part of \`internal\`, and TypeScript 5 cannot infer a type that
// depends on itself (TS7022). \`ksas\`: your KSAs in lakitu/ksa/ (listed by \`npx lakitu build\`), which
// stages may then name in \`allowedKsas\`.
export const lakitu: Lakitu = new Lakitu(components.lakitu, { provider: internal.${PROVIDER_MODULE}.provider, ksas: LAKITU_APP_KSAS });

// ⚠️ AUTH CHECK: who is calling. Replace with your app's rule (e.g. look the user up in your users table).
async function requireUser(ctx: QueryCtx): Promise<string> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) throw new Error("Not signed in");
  return identity.subject;
}

// ⚠️ AUTH CHECK: may this user use this board? As written: only the user who created it.
async function requireBoard(ctx: QueryCtx, boardId: string): Promise<string> {
  const user = await requireUser(ctx);
  const found = await lakitu.getBoard(ctx, { boardId });
  if (!found || found.board.owner !== user) throw new Error("Board not found");
  return user;
}

async function requireCard(ctx: QueryCtx, cardId: string): Promise<string> {
  const card = await lakitu.getCard(ctx, { cardId });
  if (!card) throw new Error("Card not found");
  return await requireBoard(ctx, card.boardId);
}

async function requireRun(ctx: QueryCtx, runId: string): Promise<string> {
  const run = await lakitu.getRun(ctx, { runId });
  if (!run) throw new Error("Run not found");
  return await requireBoard(ctx, run.boardId);
}

/** The pipeline a new board gets when the UI sends no stages. */
const DEFAULT_STAGES: StageInput[] = [
  {
    name: "Research",
    kind: "agent",
    goals: ["Collect what is known about the card's topic"],
    deliverables: [{ name: "notes.md", type: "markdown", checks: { minWords: 20 } }],
    autoAdvance: true,
  },
  { name: "Done", kind: "done" },
];

// Every list below is a page, shaped for usePaginatedQuery: \`paginationOpts\` in, a page out, e.g.
//   const { results, loadMore } = usePaginatedQuery(api.lakitu.cards, { boardId }, { initialNumItems: 50 });

/** The caller's boards, newest first. */
export const boards = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => await lakitu.listBoards(ctx, { owner: await requireUser(ctx), paginationOpts }),
});

export const createBoard = mutation({
  args: { name: v.string(), description: v.optional(v.string()), stages: v.optional(v.array(vStageInput)) },
  handler: async (ctx, args): Promise<string> => {
    const owner = await requireUser(ctx);
    const { boardId } = await lakitu.createBoard(ctx, { ...args, owner, stages: args.stages ?? DEFAULT_STAGES });
    return boardId;
  },
});

/** A board and its stages; its cards come page by page from \`cards\`. */
export const board = query({
  args: { boardId: v.string() },
  handler: async (ctx, { boardId }) => {
    await requireBoard(ctx, boardId);
    return await lakitu.getBoard(ctx, { boardId });
  },
});

/** A board's cards (or one stage's), as summaries: the card view reads the whole card from \`card\`. */
export const cards = query({
  args: { boardId: v.string(), stageId: v.optional(v.string()), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireBoard(ctx, args.boardId);
    return await lakitu.listCards(ctx, args);
  },
});

/** One whole card (context included). */
export const card = query({
  args: { cardId: v.string() },
  handler: async (ctx, { cardId }) => {
    await requireCard(ctx, cardId);
    return await lakitu.getCard(ctx, { cardId });
  },
});

/** A card's runs, newest first. */
export const runs = query({
  args: { cardId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireCard(ctx, args.cardId);
    return await lakitu.listRuns(ctx, args);
  },
});

export const addCard = mutation({
  args: { boardId: v.string(), title: v.string(), description: v.optional(v.string()) },
  handler: async (ctx, args): Promise<string> => {
    await requireBoard(ctx, args.boardId);
    return await lakitu.addCard(ctx, args);
  },
});

/** The "run" button: the card's current stage runs in a sandbox. */
export const run = mutation({
  args: { cardId: v.string() },
  handler: async (ctx, { cardId }): Promise<{ runId: string }> => {
    await requireCard(ctx, cardId);
    const { runId } = await lakitu.runCard(ctx, { cardId });
    return { runId };
  },
});

/** The "stop" button: cancels the card's run and kills its sandbox. */
export const stop = mutation({
  args: { cardId: v.string() },
  handler: async (ctx, { cardId }): Promise<boolean> => {
    await requireCard(ctx, cardId);
    return (await lakitu.stopCard(ctx, { cardId })).stopped;
  },
});

/** The "resume" button of a card paused by its budget; \`raise\` sets higher limits for the next run. */
export const resume = mutation({
  args: {
    cardId: v.string(),
    raise: v.optional(v.object({ maxSteps: v.optional(v.number()), maxCostUsd: v.optional(v.number()), maxDurationMs: v.optional(v.number()) })),
    note: v.optional(v.string()),
  },
  handler: async (ctx, args): Promise<{ runId: string }> => {
    await requireCard(ctx, args.cardId);
    const { runId } = await lakitu.resumeCard(ctx, args);
    return { runId };
  },
});

/** What a card has spent: tokens, USD, model steps and sandbox seconds. */
export const usage = query({
  args: { cardId: v.string() },
  handler: async (ctx, { cardId }) => {
    await requireCard(ctx, cardId);
    return await lakitu.getUsage(ctx, { cardId });
  },
});

/** Approves or rejects a run waiting for review; a rejection's note reaches the next attempt. */
export const review = mutation({
  args: { runId: v.string(), approve: v.boolean(), note: v.optional(v.string()) },
  handler: async (ctx, { runId, approve, note }): Promise<boolean> => {
    const reviewer = await requireRun(ctx, runId);
    const result = await lakitu.reviewRun(ctx, { runId, decision: approve ? "approved" : "rejected", reviewer, note });
    return result.decided;
  },
});

/** A run's events in order (after \`afterSeq\` when given): subscribe for the live console. */
export const events = query({
  args: { runId: v.string(), afterSeq: v.optional(v.number()), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireRun(ctx, args.runId);
    return await lakitu.listEvents(ctx, args);
  },
});

/** A run's latest events, newest first; later pages go further back. */
export const latestEvents = query({
  args: { runId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireRun(ctx, args.runId);
    return await lakitu.latestEvents(ctx, args);
  },
});

/** One run: status, QA report, review, usage and sandbox. */
export const getRun = query({
  args: { runId: v.string() },
  handler: async (ctx, { runId }) => {
    await requireRun(ctx, runId);
    return await lakitu.getRun(ctx, { runId });
  },
});

/** A run's artifacts (every version), a page at a time. */
export const artifacts = query({
  args: { runId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => {
    await requireRun(ctx, args.runId);
    return await lakitu.listArtifacts(ctx, args);
  },
});

/** A download URL of one artifact, for its run's board's owner. */
export const artifactUrl = query({
  args: { artifactId: v.string() },
  handler: async (ctx, { artifactId }) => {
    const artifact = await lakitu.getArtifact(ctx, { artifactId });
    if (!artifact) throw new Error("Artifact not found");
    await requireRun(ctx, artifact.runId);
    return await lakitu.getArtifactUrl(ctx, { artifactId });
  },
});
`;
}

export function providerAction(ext: string): string {
  return `"use node";
/**
 * Lakitu's sandbox provider (written by \`npx lakitu init\`): E2B through the official SDK. It runs in
 * Node, so it lives in this app (components cannot use Node). Needs E2B_API_KEY in the deployment's
 * environment (npx convex env set E2B_API_KEY e2b_...). The template is the one \`npx lakitu publish\`
 * pinned, else LAKITU_E2B_TEMPLATE, else "lakitu". For the local sandbox host (\`npx lakitu sandbox
 * serve\`) set E2B_API_URL, E2B_SANDBOX_URL and LAKITU_RUNTIME_COMMAND as it prints.
 */
import { e2bProvider, providerArgs, vProviderResult } from "lakitu/e2b";
import { internalAction } from "./_generated/server${ext}";

export const provider = internalAction({
  args: providerArgs,
  returns: vProviderResult,
  handler: e2bProvider(),
});
`;
}

export const EXAMPLE_KSA_PATH = "lakitu/ksa/slug.ts";

export const EXAMPLE_KSA = `/**
 * An example of the app's own KSA (written by \`npx lakitu init\`). Agent code in the sandbox imports
 * it like the built-ins: \`import { slug } from "lakitu/ksa"\`. \`npx lakitu build\` checks every file in
 * this folder and bundles it into the sandbox runtime. A stage uses it when its \`allowedKsas\` lists
 * it (\`defaultAllowed: false\`), e.g. allowedKsas: ["file", "shell", "artifacts", "plan", "slug"].
 */
import { defineKSA } from "lakitu/ksa";
import { z } from "zod";

export const slug = defineKSA({
  name: "slug",
  description: "Turns titles into file-name-safe slugs, e.g. for naming deliverables after a card.",
  category: "project",
  defaultAllowed: false,
  functions: {
    make: {
      description: "Lowercases \`text\`, drops accents and punctuation, joins words with dashes; at most \`maxLength\` characters (default 60).",
      params: z.object({ text: z.string().min(1), maxLength: z.number().int().min(1).max(200).optional() }),
      result: z.string(),
      local: async (_ctx, { text, maxLength }) =>
        text
          .normalize("NFKD")
          .replace(/[\\u0300-\\u036f]/g, "")
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, "-")
          .replace(/^-+|-+$/g, "")
          .slice(0, maxLength ?? 60)
          .replace(/-+$/, ""),
    },
  },
});
`;

/** Variables `.env.example` lists (values are set in the deployment, not in this file). */
export const ENV_VARS: Array<{ name: string; why: string }> = [
  { name: "E2B_API_KEY", why: "E2B sandboxes (the provider action); also used by npx lakitu publish" },
  { name: "LAKITU_E2B_TEMPLATE", why: "template to use when none is pinned by npx lakitu publish" },
  { name: "OPENAI_API_KEY", why: "model keys for the component's model gateway (never sent to a sandbox)" },
  { name: "OPENROUTER_API_KEY", why: "" },
  { name: "ANTHROPIC_API_KEY", why: "" },
];

export const ENV_HEADER = "# Lakitu: set these in your Convex deployment (npx convex env set NAME value)";

/** `.env.example` with Lakitu's variables: the existing file plus the ones it does not list yet. */
export function envExample(existing: string | undefined): string {
  const have = new Set((existing ?? "").split(/\r?\n/).map((l) => /^\s*#?\s*([A-Z_][A-Z0-9_]*)\s*=/.exec(l)?.[1]).filter(Boolean));
  const missing = ENV_VARS.filter((v) => !have.has(v.name));
  if (!missing.length) return existing ?? "";
  const lines = [ENV_HEADER, ...missing.flatMap((v) => (v.why ? [`# ${v.why}`, `${v.name}=`] : [`${v.name}=`]))];
  if (existing === undefined || existing === "") return `${lines.join("\n")}\n`;
  const eol = existing.includes("\r\n") ? "\r\n" : "\n";
  const sep = existing.endsWith("\n") ? eol : eol + eol;
  return `${existing}${sep}${lines.join(eol)}${eol}`;
}

export const LAKITU_DIR_GITIGNORE = `# Written by lakitu: build output is regenerated by \`npx lakitu build\`; keep init.json and
# template.json under version control (they record what init wrote and which template runs use).
build/
`;
