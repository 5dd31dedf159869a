/**
 * The gateway the runtime reaches through `/task`, `/llm` and `/ksa`: the task description, the model
 * (called here with keys the component holds; the conversation persisted per card with
 * @convex-dev/agent), usage and budgets, and the KSA functions that run server-side after an exact-name
 * policy check.
 */
import { v } from "convex/values";
import { Agent, createThread } from "@convex-dev/agent";
import { env, internalMutation, internalQuery, type MutationCtx } from "./_generated/server.js";
import { action, mutation } from "../model/functions.js";
import { components, internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { MAX_RESTORE_BYTES, MAX_RESTORE_FILES, MODEL_CONTEXT_MESSAGES } from "../shared/defaults.js";
import { currentArtifacts } from "../model/artifactVersions.js";
import { fail } from "../shared/errors.js";
import { validateJson } from "../shared/jsonSchema.js";
import { jsonDepth, MAX_JSON_DEPTH } from "../shared/jsonLimits.js";
import { addPlanTask, planOf, updatePlanTask } from "../model/plan.js";
import { getConfig, stageLimits } from "../model/config.js";
import { endAgentPhase } from "../model/runs.js";
import { authenticate, touchActivity } from "../model/runtime.js";
import { budgetStop, componentEvent } from "../model/budget.js";
import { estimateInputTokens, releaseTurn, reservation, reserveTurn, settleTurn, turnAt, turnCost, turnInFlight, type BudgetLimit } from "../model/turns.js";
import { priceOf } from "../gateway/prices.js";
import { KSA_REGISTRY } from "../../ksa/registry.generated.js";
import { ksaReference } from "../../ksa/reference.js";
import { isKsaAllowed } from "../../ksa/policy.js";
import { settingsOf } from "../model/settings.js";
import { ModelConfigError, modelErrorText, reportedCostUsd, resolveModel, scrubbedModel, summarizeModelError } from "../gateway/models.js";
import { componentRedactor } from "../model/secrets.js";
import { DEFAULT_MAX_STEPS, OUTPUT_DIR, systemPrompt, type AgentTask } from "../gateway/task.js";
import { webFetch, type WebFetchArgs } from "../gateway/webFetch.js";
import { capObservation, stageHistory, stageMarker, turnPrompt } from "../gateway/context.js";

const auth = { token: v.string(), generation: v.number() };
const LIVE = new Set(["provisioning", "running"]);

async function taskOf(ctx: MutationCtx, run: Doc<"runs">, step: number): Promise<AgentTask> {
  const card = (await ctx.db.get(run.cardId))!;
  // The settings the run started with: updateStage does not change a run in progress.
  const settings = await settingsOf(ctx, run);
  if (!settings) fail("not_found", `the stage of run ${run._id} was deleted`);
  const limits = stageLimits(settings, await getConfig(ctx), run);
  const session = run.sessionId ? await ctx.db.get(run.sessionId) : null;
  return {
    runId: run._id,
    attempt: run.attempt,
    step,
    stage: {
      name: settings.stageName,
      goals: settings.goals,
      deliverables: settings.deliverables,
      allowedKsas: settings.allowedKsas,
      prompt: settings.prompt,
    },
    card: { title: card.title, description: card.description, context: card.context },
    retryContext: run.retryContext,
    limits: {
      maxSteps: limits.maxSteps ?? DEFAULT_MAX_STEPS,
      deadline: session?.deadline ?? run.deadline ?? Date.now() + limits.maxDurationMs,
      maxCostUsd: limits.maxCostUsd,
    },
    outputDir: OUTPUT_DIR,
    ...(run.resumedFrom ? { restore: await restorable(ctx, run.resumedFrom), plan: await planOf(ctx, card._id) } : {}),
  };
}

/** The paused run's current files that fit a restore (each at most MAX_RESTORE_BYTES). */
async function restorable(ctx: MutationCtx, runId: Id<"runs">): Promise<NonNullable<AgentTask["restore"]>> {
  const arts = await currentArtifacts(ctx, runId);
  return arts
    .filter((a) => a.size <= MAX_RESTORE_BYTES)
    .slice(0, MAX_RESTORE_FILES)
    .map((a) => ({ artifactId: a._id, name: a.name, sha256: a.sha256, size: a.size }));
}

/** What the runtime works on. */
export const task = mutation({
  args: { ...auth, runtimeVersion: v.optional(v.string()) },
  returns: v.any(),
  handler: async (ctx, args) => {
    const { session, run } = await authenticate(ctx, args);
    if (!LIVE.has(run.status)) fail("conflict", `run ${run._id} is ${run.status}`);
    if (run.templateVersion && args.runtimeVersion !== run.templateVersion) {
      // Retrying cannot help: the same template would start again. The card is blocked with the reason.
      const message = `run ${run._id} is pinned to ${run.template}:${run.templateVersion} but its sandbox runs ${args.runtimeVersion ?? "a runtime without a version"}; publish the template again (npx lakitu publish) or re-run the card`;
      await ctx.db.patch(run._id, { retriesLeft: 0 });
      await endAgentPhase(ctx, (await ctx.db.get(run._id))!, { to: "failed", code: "template_mismatch", message }, "runtime");
      return { refused: message };
    }
    await touchActivity(ctx, session);
    // Sent to the sandbox: no secret the component knows (an app may paste one into a card by mistake).
    return componentRedactor(await getConfig(ctx), args.token).value(await taskOf(ctx, run, 0));
  },
});

type Turn =
  | { stop: string; message: string }
  | { stop: null; replay: string }
  | {
      stop: null;
      step: number;
      threadId: string;
      model: string | undefined;
      system: string;
      maxOutputTokens: number;
      /** What the action redacts with (names and literals from config; values are read from env there). */
      redaction: { redact: string[]; secrets: string[] };
      /** The first line of this turn's prompt: which stage's history the model sees (gateway/context.ts). */
      stageId: string;
      marker: string;
    };

/**
 * Checks the budgets and reserves one model turn (see model/turns.ts): the step is counted and the
 * turn's worst-case cost held in this transaction, so concurrent calls cannot multiply steps or spend.
 * A second call while a turn is in flight is refused with `busy`; a step already answered is replayed.
 */
export const beginTurn = internalMutation({
  args: { ...auth, step: v.number(), promptChars: v.number() },
  returns: v.any(),
  handler: async (ctx, args): Promise<Turn> => {
    const { session, run } = await authenticate(ctx, args);
    if (!LIVE.has(run.status)) return { stop: "run_ended", message: `run ${run._id} is ${run.status}` };
    const existing = await turnAt(ctx, run._id, args.step);
    // A turn the runtime retries because it lost the answer: the same reply, no second model call.
    if (existing?.status === "settled" && existing.reply !== undefined) return { stop: null, replay: existing.reply };
    const inFlight = await turnInFlight(ctx, run);
    if (inFlight) fail("busy", `step ${inFlight.step} is being answered; a run makes one model turn at a time (retry when it returns)`);
    const current = (await ctx.db.get(run._id))!;
    if (args.step !== current.usage.steps) {
      fail(args.step < current.usage.steps ? "stale" : "invalid_argument", `step ${args.step} is not the run's next step (${current.usage.steps})`);
    }
    const settings = await settingsOf(ctx, current);
    if (!settings) return { stop: "run_ended", message: `the stage of run ${run._id} was deleted` };
    const card = (await ctx.db.get(current.cardId))!;
    const config = await getConfig(ctx);
    const limits = stageLimits(settings, config, current);
    const t = await taskOf(ctx, current, current.usage.steps);
    const system = systemPrompt(t, ksaReference(KSA_REGISTRY, t.stage.allowedKsas));
    const model = settings.model ?? "scripted";
    let over: { limit: BudgetLimit; message: string } | null = null;
    let reservedUsd = 0;
    if (current.usage.steps >= t.limits.maxSteps) {
      over = { limit: "maxSteps", message: `the stage allows ${t.limits.maxSteps} model steps and all were used` };
    } else if (Date.now() >= t.limits.deadline) {
      over = { limit: "maxDurationMs", message: `the run reached its maximum duration (${limits.maxDurationMs} ms)` };
    } else {
      const inputTokens = await estimateInputTokens(ctx, card._id, system.length, args.promptChars);
      const r = reservation(current, limits, model, priceOf(model, config.prices), inputTokens);
      if ("limit" in r) over = r;
      else reservedUsd = r.reservedUsd;
    }
    if (over) {
      await budgetStop(ctx, current, over.limit, over.message, "runtime");
      return { stop: "budget_exceeded", message: `${over.limit}: ${over.message}` };
    }
    let threadId = card.threadId;
    if (!threadId) {
      threadId = await createThread(ctx, components.agent, { title: card.title });
      await ctx.db.patch(card._id, { threadId });
    }
    await reserveTurn(ctx, current, { model, promptChars: args.promptChars, reservedUsd }, existing);
    await touchActivity(ctx, session);
    return {
      stop: null,
      step: args.step,
      threadId,
      model: settings.model,
      system,
      maxOutputTokens: limits.maxOutputTokens,
      redaction: { redact: config.redact, secrets: config.secrets },
      stageId: current.stageId,
      marker: stageMarker(current.stageId, settings.stageName, current.attempt),
    };
  },
});

const vTokens = { inputTokens: v.number(), cachedInputTokens: v.number(), outputTokens: v.number() };

/** Settles a turn with the tokens it used and its cost (the provider's figure, else tokens × price). */
export const endTurn = internalMutation({
  args: { ...auth, step: v.number(), reply: v.string(), usage: v.object({ ...vTokens, providerCostUsd: v.optional(v.number()) }) },
  returns: v.object({ ...vTokens, costUsd: v.number() }),
  handler: async (ctx, args) => {
    const { run } = await authenticate(ctx, args);
    const turn = await turnAt(ctx, run._id, args.step);
    if (!turn) fail("not_found", `run ${run._id} has no turn ${args.step}`);
    const { providerCostUsd, ...tokens } = args.usage;
    const config = await getConfig(ctx);
    const cost = turnCost(tokens, providerCostUsd, priceOf(turn.model, config.prices));
    await settleTurn(ctx, run, turn, tokens, cost, args.reply);
    return { ...tokens, costUsd: cost.costUsd };
  },
});

/** A turn whose call failed: released (the step is given back) and, unless it may be retried, the run ends. */
export const failTurn = internalMutation({
  args: { ...auth, step: v.number(), failure: v.optional(v.object({ code: v.string(), message: v.string() })) },
  returns: v.null(),
  handler: async (ctx, args) => {
    const { run } = await authenticate(ctx, args);
    const turn = await turnAt(ctx, run._id, args.step);
    if (turn) await releaseTurn(ctx, run, turn);
    if (args.failure) {
      const current = (await ctx.db.get(run._id))!;
      await componentEvent(ctx, current, args.failure.code, "error", args.failure.message);
      await endAgentPhase(ctx, current, { to: "failed", ...args.failure }, "runtime");
    }
    return null;
  },
});

const vTurnUsage = v.object({ ...vTokens, costUsd: v.number() });
type TurnUsage = typeof vTurnUsage.type;

/** One model turn: the runtime's observation in, the model's reply out. */
export const llm = action({
  args: { ...auth, step: v.number(), observation: v.string() },
  returns: v.object({ reply: v.string(), stop: v.optional(v.string()), usage: v.optional(vTurnUsage) }),
  handler: async (ctx, args): Promise<{ reply: string; stop?: string; usage?: TurnUsage }> => {
    const a = { token: args.token, generation: args.generation };
    const turn: Turn = await ctx.runMutation(internal.gateway.beginTurn, { ...a, step: args.step, promptChars: capObservation(args.observation).length + 200 });
    if (turn.stop !== null) return { reply: "", stop: turn.stop };
    if ("replay" in turn) return { reply: turn.replay };
    // Secrets never reach the model or the transcript: the observation and prompt are redacted, and
    // model errors are summaries (status, code, scrubbed message), never the provider's body.
    const redact = componentRedactor(turn.redaction, args.token);
    let model;
    try {
      model = scrubbedModel(resolveModel(turn.model, env), redact.text);
    } catch (e) {
      if (!(e instanceof ModelConfigError)) throw e;
      await ctx.runMutation(internal.gateway.failTurn, { ...a, step: turn.step, failure: { code: "model_unavailable", message: redact.text(e.message) } });
      return { reply: "", stop: "model_unavailable" };
    }
    // The context is bounded (README "Models"): this stage's recent messages within a character budget.
    const agent = new Agent(components.agent, {
      name: "lakitu",
      languageModel: model,
      contextOptions: { recentMessages: MODEL_CONTEXT_MESSAGES, excludeToolMessages: true, searchOtherThreads: false },
      contextHandler: async (_ctx, c) => [...stageHistory(c.recent, turn.stageId), ...c.inputMessages, ...c.inputPrompt, ...c.existingResponses],
    });
    let result;
    try {
      result = await agent.generateText(
        ctx,
        { threadId: turn.threadId },
        { prompt: turnPrompt(redact.text(turn.marker), redact.text(args.observation)), system: redact.text(turn.system), maxOutputTokens: turn.maxOutputTokens },
      );
    } catch (e) {
      const summary = summarizeModelError(e, redact.text);
      const message = modelErrorText(summary);
      const retryable = summary.retryable;
      await ctx.runMutation(internal.gateway.failTurn, { ...a, step: turn.step, ...(retryable ? {} : { failure: { code: "model_failed", message } }) });
      if (!retryable) return { reply: "", stop: "model_failed" };
      fail("model_failed", `the model call failed and may be retried: ${message}`);
    }
    const providerCostUsd = reportedCostUsd(result.providerMetadata);
    const usage: TurnUsage = await ctx.runMutation(internal.gateway.endTurn, {
      ...a,
      step: turn.step,
      reply: redact.text(result.text),
      usage: {
        inputTokens: result.usage?.inputTokens ?? 0,
        cachedInputTokens: result.usage?.inputTokenDetails?.cacheReadTokens ?? 0,
        outputTokens: result.usage?.outputTokens ?? 0,
        ...(providerCostUsd !== undefined ? { providerCostUsd } : {}),
      },
    });
    return { reply: redact.text(result.text), usage };
  },
});

// ---- server-side KSA functions -------------------------------------------------------------

export const ksaPolicy = internalQuery({
  args: { ...auth, ksa: v.string(), fn: v.string() },
  returns: v.object({ runId: v.id("runs"), webEnabled: v.boolean() }),
  handler: async (ctx, args) => {
    const { run } = await authenticate(ctx, args);
    if (!LIVE.has(run.status)) fail("conflict", `run ${run._id} is ${run.status}`);
    // Exact names from the run's own settings: a stage changed mid-run grants or revokes nothing here.
    const settings = await settingsOf(ctx, run);
    const allowed = settings?.allowedKsas ?? [];
    if (!isKsaAllowed(allowed, args.ksa)) {
      fail("forbidden", `KSA "${args.ksa}" is not allowed in stage "${settings?.stageName ?? "(deleted)"}" (allowed: ${allowed.join(", ") || "none"})`);
    }
    return { runId: run._id, webEnabled: (await getConfig(ctx)).webEnabled };
  },
});

/** A gateway KSA call: policy first (exact names), then the function's parameters, then the function. */
export const ksa = action({
  args: { ...auth, ksa: v.string(), fn: v.string(), argsJson: v.string() },
  returns: v.any(),
  handler: async (ctx, { argsJson, ...args }): Promise<unknown> => {
    const a = { token: args.token, generation: args.generation };
    const params = parseArgs(argsJson);
    const policy = await ctx.runQuery(internal.gateway.ksaPolicy, { ...a, ksa: args.ksa, fn: args.fn });
    const entry = KSA_REGISTRY.find((k) => k.name === args.ksa);
    const fn = entry?.functions.find((f) => f.name === args.fn);
    if (!entry || !fn || !fn.gateway) fail("invalid_argument", `${args.ksa}.${args.fn} is not a server-side KSA function`);
    const problems = validateJson(fn.params, params);
    if (problems.length) fail("invalid_argument", `${args.ksa}.${args.fn}: ${problems.join("; ")}`);
    if (args.ksa === "plan") return await ctx.runMutation(internal.gateway.planOp, { runId: policy.runId, fn: args.fn, args: params });
    // The options come from the deployment only; nothing in params can widen the web policy.
    if (args.ksa === "web" && args.fn === "fetch") return await webFetch(params as WebFetchArgs, { enabled: policy.webEnabled });
    fail("invalid_argument", `${args.ksa}.${args.fn} has no server-side implementation`);
  },
});

function parseArgs(json: string): unknown {
  // The route checked the body; this action is public, so it checks again (params nest one level deeper in planOp's args).
  if (jsonDepth(json) > MAX_JSON_DEPTH - 1) fail("invalid_argument", `KSA arguments nest more than ${MAX_JSON_DEPTH - 1} levels deep; flatten them`);
  try {
    return JSON.parse(json);
  } catch {
    fail("invalid_argument", "KSA arguments must be JSON");
  }
}

export const planOp = internalMutation({
  args: { runId: v.id("runs"), fn: v.string(), args: v.any() },
  returns: v.any(),
  handler: async (ctx, { runId, fn, args }) => {
    const run = (await ctx.db.get(runId))!;
    // Rows of their own: the card document does not change (or grow) while the agent plans.
    if (fn === "get") return { tasks: await planOf(ctx, run.cardId) };
    if (fn === "add") return await addPlanTask(ctx, run.cardId, args);
    if (fn === "update") return await updatePlanTask(ctx, run.cardId, args);
    fail("invalid_argument", `plan.${fn} does not exist`);
  },
});
