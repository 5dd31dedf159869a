/**
 * The client a parent Convex app uses to drive Lakitu.
 *
 * ```ts
 * // convex/lakitu.ts
 * import { Lakitu } from "lakitu";
 * import { components, internal } from "./_generated/api";
 * // The annotation is needed: this module is part of `internal`, whose type the initializer uses.
 * export const lakitu: Lakitu = new Lakitu(components.lakitu, { provider: internal.sandbox.provider });
 *
 * export const run = mutation({
 *   args: { cardId: v.string() },
 *   handler: async (ctx, { cardId }) => await lakitu.runCard(ctx, { cardId }),
 * });
 * ```
 */
import {
  createFunctionHandle,
  type FunctionReference,
  type GenericActionCtx,
  type GenericDataModel,
  type GenericMutationCtx,
  type GenericQueryCtx,
  type HttpRouter,
  type PaginationOptions,
  httpActionGeneric,
} from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import { fail } from "../shared/errors.js";
import { runtimeRoutes } from "../shared/routes.js";
import type {
  ConfigPatch,
  ProviderRequest,
  ProviderResult,
  StageInput,
  StagePatch,
} from "../shared/validators.js";

export * from "../shared/validators.js";
export { isLakituError, type LakituErrorCode, type LakituErrorData } from "../shared/errors.js";
export type { ComponentApi };
export type { PublicArtifact, PublicBoard, PublicCard, PublicEvent, PublicRun, PublicStage, PublicTransition } from "../model/public.js";
export type { CardSummary, RunSummary } from "../model/summaries.js";

type QueryCtx = Pick<GenericQueryCtx<GenericDataModel>, "runQuery">;
type MutationCtx = Pick<GenericMutationCtx<GenericDataModel>, "runQuery" | "runMutation">;
type ActionCtx = Pick<GenericActionCtx<GenericDataModel>, "runQuery" | "runMutation" | "runAction">;

/** The provider action the app owns: `internalAction({ args: providerArgs, returns: vProviderResult, ... })`. */
export type ProviderAction = FunctionReference<"action", "internal", { request: ProviderRequest }, ProviderResult>;

export type LakituOptions = {
  /** The app's sandbox provider action, e.g. `internal.sandbox.provider`. Required to run cards. */
  provider?: ProviderAction | undefined;
  /**
   * Base URL the runtime in the sandbox calls back. Default: `${CONVEX_SITE_URL}/lakitu` — the routes the
   * component serves when the app mounts it with `app.use(lakitu, { httpPrefix: "/lakitu/" })`.
   */
  callbackUrl?: string | undefined;
  /**
   * Names of the app's own KSAs (the modules in `lakitu/ksa/`), so stages may list them in
   * `allowedKsas`; a name that is neither a built-in nor one of these is refused when a stage is
   * written. `npx lakitu build` writes them to `convex/lakitu_ksas.ts` (`LAKITU_APP_KSAS`).
   * Default: none (only the built-ins and the names `npx lakitu publish` pinned in config).
   * @example new Lakitu(components.lakitu, { provider, ksas: LAKITU_APP_KSAS })
   */
  ksas?: readonly string[] | undefined;
};

export class Lakitu {
  constructor(
    public readonly component: ComponentApi,
    private readonly options: LakituOptions = {},
  ) {}

  // ---- boards and stages -------------------------------------------------------------------

  /**
   * Creates a board with ordered stages.
   * @example
   * await lakitu.createBoard(ctx, { name: "Content", stages: [
   *   { name: "Research", kind: "agent", deliverables: [{ name: "notes.md", type: "markdown" }], autoAdvance: true },
   *   { name: "Done", kind: "done" } ] });
   */
  createBoard(ctx: MutationCtx, args: { name: string; owner?: string | undefined; description?: string | undefined; stages: StageInput[] }) {
    return ctx.runMutation(this.component.boards.createBoard, { ...args, ...this.appKsas() });
  }
  /** The board and its stages in order, or null. */
  getBoard(ctx: QueryCtx, args: { boardId: string }) {
    return ctx.runQuery(this.component.boards.getBoard, args);
  }
  /**
   * Boards of an owner, newest first, one page at a time (`numItems` 1–200).
   * @example
   * // an app query usePaginatedQuery can drive:
   * export const boards = query({ args: { paginationOpts: paginationOptsValidator },
   *   handler: async (ctx, { paginationOpts }) => await lakitu.listBoards(ctx, { owner: await userId(ctx), paginationOpts }) });
   */
  listBoards(ctx: QueryCtx, args: { owner?: string | undefined; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.boards.listBoards, args);
  }
  /** Adds a stage at the end (or at `position`). */
  addStage(ctx: MutationCtx, args: { boardId: string; stage: StageInput; position?: number | undefined }) {
    return ctx.runMutation(this.component.boards.addStage, { ...args, ...this.appKsas() });
  }
  /** Changes some fields of a stage; runs already started keep the settings they started with. */
  updateStage(ctx: MutationCtx, args: { stageId: string; patch: StagePatch }) {
    return ctx.runMutation(this.component.boards.updateStage, { ...args, ...this.appKsas() });
  }
  /** The `ksas` option as the component's `appKsas` argument (left out when there are none). */
  private appKsas(): { appKsas?: string[] } {
    return this.options.ksas?.length ? { appKsas: [...this.options.ksas] } : {};
  }

  // ---- cards -------------------------------------------------------------------------------

  /** Adds a card, in the board's first stage unless `stageId` is given. Returns its id. */
  addCard(ctx: MutationCtx, args: { boardId: string; title: string; description?: string | undefined; context?: Record<string, string> | undefined; stageId?: string | undefined }) {
    return ctx.runMutation(this.component.cards.addCard, args);
  }
  /** Moves a card by hand (e.g. out of a human stage). Refused while it has an active run. */
  moveCard(ctx: MutationCtx, args: { cardId: string; stageId: string; reason?: string | undefined }) {
    return ctx.runMutation(this.component.cards.moveCard, args);
  }
  /**
   * Changes a card's title, description or context; only the given fields change, `null` clears.
   * Context is at most 64 KiB (UTF-8 JSON; `too_large` otherwise). Example:
   * `await lakitu.updateCard(ctx, { cardId, context: { TOPIC: "sea otters" } })`.
   */
  updateCard(ctx: MutationCtx, args: { cardId: string; title?: string | undefined; description?: string | null | undefined; context?: Record<string, string> | null | undefined }) {
    return ctx.runMutation(this.component.lifecycle.updateCard, args);
  }
  /** Hides a card from lists until `restoreCard`. Refused (`conflict`) while it runs or waits for review. */
  archiveCard(ctx: MutationCtx, args: { cardId: string }) {
    return ctx.runMutation(this.component.lifecycle.archiveCard, args);
  }
  restoreCard(ctx: MutationCtx, args: { cardId: string }) {
    return ctx.runMutation(this.component.lifecycle.restoreCard, args);
  }
  /**
   * Deletes a card: its live run is canceled first (sandbox killed, token revoked), then its runs,
   * events, artifacts and their bytes, transitions, inbox, turns, agent thread and workflow journals go
   * in scheduled batches. `started: false` when a deletion was already under way.
   */
  deleteCard(ctx: MutationCtx, args: { cardId: string; reason?: string | undefined }) {
    return ctx.runMutation(this.component.lifecycle.deleteCard, args);
  }
  /** Deletes a board: each card as `deleteCard` does, then its stages and the board. */
  deleteBoard(ctx: MutationCtx, args: { boardId: string }) {
    return ctx.runMutation(this.component.lifecycle.deleteBoard, args);
  }
  /** Renames a stage (`updateStage` with only the name). */
  renameStage(ctx: MutationCtx, args: { stageId: string; name: string }) {
    return this.updateStage(ctx, { stageId: args.stageId, patch: { name: args.name } });
  }
  /** Orders a board's stages as `stageIds` lists them (every stage exactly once). */
  reorderStages(ctx: MutationCtx, args: { boardId: string; stageIds: string[] }) {
    return ctx.runMutation(this.component.lifecycle.reorderStages, args);
  }
  /** Removes a stage. Refused (`conflict`) while any card is on it: move or delete those cards first. */
  removeStage(ctx: MutationCtx, args: { stageId: string }) {
    return ctx.runMutation(this.component.lifecycle.removeStage, args);
  }
  getCard(ctx: QueryCtx, args: { cardId: string }) {
    return ctx.runQuery(this.component.cards.getCard, args);
  }
  /** The card's plan: the agent's task list, in order of creation. */
  getPlan(ctx: QueryCtx, args: { cardId: string }) {
    return ctx.runQuery(this.component.cards.getPlan, args);
  }
  /**
   * Cards of a board (optionally of one stage) as summaries, one page at a time (`numItems` 1–200).
   * Items leave out the context and cut description and note to 500 characters; `getCard` has it all.
   */
  listCards(ctx: QueryCtx, args: { boardId: string; stageId?: string | undefined; includeArchived?: boolean | undefined; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.cards.listCards, args);
  }

  // ---- runs --------------------------------------------------------------------------------

  /**
   * Runs the card in its current (agent) stage: a durable workflow provisions a sandbox through the
   * provider, waits for the agent, checks the deliverables and advances, retries or blocks the card.
   * Pass `attempt` to make a retried request idempotent.
   * @example const { runId } = await lakitu.runCard(ctx, { cardId });
   */
  async runCard(ctx: MutationCtx, args: { cardId: string; attempt?: number | undefined }) {
    return ctx.runMutation(this.component.runs.runCard, { ...args, ...(await this.runTarget()) });
  }
  /**
   * Continues a card `paused` by its budget (maxSteps, maxCostUsd or maxDurationMs reached before its
   * deliverables passed): a new run that continues the card's agent thread, starts with the paused
   * run's files in its workspace and costs no attempt. `raise` sets higher limits for that run;
   * `note` reaches the agent.
   * @example await lakitu.resumeCard(ctx, { cardId, raise: { maxCostUsd: 2 }, note: "finish the table" });
   */
  async resumeCard(
    ctx: MutationCtx,
    args: { cardId: string; raise?: { maxSteps?: number; maxCostUsd?: number; maxDurationMs?: number } | undefined; note?: string | undefined },
  ) {
    return ctx.runMutation(this.component.runs.resumeCard, { ...args, ...(await this.runTarget()) });
  }
  /** Cancels a run from any state: sandbox killed, token revoked, workflow canceled. */
  cancelRun(ctx: MutationCtx, args: { runId: string; reason?: string | undefined }) {
    return ctx.runMutation(this.component.runs.cancelRun, args);
  }
  /** Stops the card's current run (or its wait for review) and leaves the card idle. */
  stopCard(ctx: MutationCtx, args: { cardId: string; reason?: string | undefined }) {
    return ctx.runMutation(this.component.runs.stopCard, args);
  }
  getRun(ctx: QueryCtx, args: { runId: string }) {
    return ctx.runQuery(this.component.runs.getRun, args);
  }
  /** A card's runs as summaries, newest first, one page at a time (`numItems` 1–200); `getRun` has a whole run. */
  listRuns(ctx: QueryCtx, args: { cardId: string; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.runs.listRuns, args);
  }
  /** Runs not yet finished, across all boards, newest first, one page at a time (`numItems` 1–200): what `lakitu status` shows. */
  listActiveRuns(ctx: QueryCtx, args: { paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.runs.listActive, args);
  }
  /** The card's audit log, newest first, one page at a time (`numItems` 1–1000): each card and run transition, its source and reason. */
  listTransitions(ctx: QueryCtx, args: { cardId: string; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.runs.listTransitions, args);
  }
  /**
   * A run's events in seq order after `afterSeq` (default: from the start), one page at a time
   * (`numItems` 1–1000; a page also stops early past 4 MiB). Subscribe for a live stream.
   */
  listEvents(ctx: QueryCtx, args: { runId: string; afterSeq?: number | undefined; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.events.listEvents, args);
  }
  /** A run's latest events, newest first: the first page is the latest `numItems` (1–1000), the next ones go back. */
  latestEvents(ctx: QueryCtx, args: { runId: string; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.events.latestEvents, args);
  }
  /**
   * The card's agent conversation (every run of it; retries continue the thread), newest first, one
   * page at a time (`numItems` 1–100); each message's text is cut to 20,000 characters.
   */
  transcript(ctx: QueryCtx, args: { cardId: string; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.transcripts.transcript, args);
  }
  /** Sends a steering message to a running agent; it arrives at the agent's next step. */
  sendMessage(ctx: MutationCtx, args: { runId: string; text: string; author?: string | undefined }) {
    return ctx.runMutation(this.component.inbox.sendMessage, args);
  }

  /**
   * What was spent: tokens (input, cached input, output), USD, model steps and sandbox seconds, for
   * exactly one of a run, a card (all its runs) or a board (all its cards).
   * @example const { costUsd } = await lakitu.getUsage(ctx, { boardId });
   */
  getUsage(ctx: QueryCtx, args: { runId: string } | { cardId: string } | { boardId: string }) {
    return ctx.runQuery(this.component.usage.getUsage, args);
  }
  /** A run's model turns in step order: tokens, cost, and whether the cost came from the provider or the price table. */
  listTurns(ctx: QueryCtx, args: { runId: string; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.usage.listTurns, args);
  }

  // ---- artifacts and review ------------------------------------------------------------------

  /** Artifacts of one run (every version) or one card (pass exactly one), one page at a time (`numItems` 1–500). */
  listArtifacts(ctx: QueryCtx, args: { runId?: string | undefined; cardId?: string | undefined; paginationOpts: PaginationOptions }) {
    return ctx.runQuery(this.component.artifacts.listArtifacts, args);
  }
  /** One artifact (with its run, card and stage ids, for the app's access check), or null. */
  getArtifact(ctx: QueryCtx, args: { artifactId: string }) {
    return ctx.runQuery(this.component.artifacts.getArtifact, args);
  }
  /** A download URL for the artifact's bytes. */
  getArtifactUrl(ctx: QueryCtx, args: { artifactId: string }) {
    return ctx.runQuery(this.component.artifacts.getArtifactUrl, args);
  }
  /** Approves or rejects one artifact; decides a run waiting for review when that settles it. */
  reviewArtifact(ctx: MutationCtx, args: { artifactId: string; decision: "approved" | "rejected"; reviewer?: string | undefined; note?: string | undefined }) {
    return ctx.runMutation(this.component.artifacts.reviewArtifact, args);
  }
  /** Approves or rejects a whole run waiting for review. A rejection's note reaches the next attempt. */
  reviewRun(ctx: MutationCtx, args: { runId: string; decision: "approved" | "rejected"; reviewer?: string | undefined; note?: string | undefined }) {
    return ctx.runMutation(this.component.artifacts.reviewRun, args);
  }

  // ---- operations ----------------------------------------------------------------------------

  /**
   * Reaps sandboxes idle past their stage's `idleTimeoutMs` or past their deadline, retries unconfirmed
   * kills, and reconciles sessions that never started. The component already runs it every minute
   * from its own cron; call it yourself only to reap sooner. Returns how many sessions it examined;
   * that number follows what is due, not history. `limit` (default 50) is clamped to 1..64 so a tick
   * stays far below Convex's 4,096 index ranges; more due sessions wait for the next tick.
   */
  reap(ctx: MutationCtx, args: { limit?: number | undefined } = {}) {
    return ctx.runMutation(this.component.reaper.reap, args);
  }
  /** Changes stored defaults and limits (heartbeat timeout, event and artifact caps, template, ...). */
  configure(ctx: MutationCtx, patch: ConfigPatch) {
    return ctx.runMutation(this.component.config.configure, patch);
  }
  getConfig(ctx: QueryCtx) {
    return ctx.runQuery(this.component.config.getConfig, {});
  }

  /** The provider handle and callback URL a run needs; configuration is checked first. */
  private async runTarget(): Promise<{ providerHandle: string; callbackUrl: string }> {
    if (!this.options.provider) {
      fail("misconfigured", "Lakitu: no sandbox provider; pass { provider: internal.<file>.provider } to new Lakitu(...) to run cards");
    }
    const callbackUrl = this.callbackUrl();
    return { providerHandle: await createFunctionHandle(this.options.provider), callbackUrl };
  }

  private callbackUrl(): string {
    if (this.options.callbackUrl) return this.options.callbackUrl;
    const site = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CONVEX_SITE_URL;
    if (!site) fail("misconfigured", "Lakitu: CONVEX_SITE_URL is not set, so the sandbox cannot call back; pass { callbackUrl } to new Lakitu(...)");
    return `${site.replace(/\/+$/, "")}/lakitu`;
  }
}

/**
 * Mounts the runtime routes on the app's router, for apps that do not mount the component's own routes
 * with `httpPrefix`. Use the same prefix in `callbackUrl`.
 * @example registerRoutes(http, components.lakitu, { pathPrefix: "/lakitu/" });
 */
export function registerRoutes(http: HttpRouter, component: ComponentApi, opts: { pathPrefix?: string | undefined } = {}): void {
  const prefix = (opts.pathPrefix ?? "/lakitu/").replace(/\/?$/, "/");
  for (const r of runtimeRoutes({ runtime: component.runtime, gateway: component.gateway })) {
    http.route({ path: `${prefix}${r.path}`, method: r.method, handler: httpActionGeneric(r.handler) });
  }
}

export default Lakitu;
