/**
 * `lakitu status`: the configured deployment's pinned template and active runs (cards queued, running
 * or waiting for review, with their sandbox), and the sandboxes the E2B API lists — E2B itself, or the
 * local sandbox host when E2B_API_URL points at it. `--sandboxes` lists only the sandboxes.
 */
import { Sandbox, type ConnectionOpts } from "e2b";
import { defineCommand } from "../command.js";
import { callComponent, DEPLOYMENT_HINT, findDeployment, type Deployment } from "../deploy/deployment.js";
import { CliError } from "../errors.js";
import type { Out } from "../io.js";
import { c } from "../output.js";
import { appEnv } from "../project/dotenv.js";

const ACTIVE = new Set(["queued", "running", "awaiting_review"]);
const MAX_BOARDS = 200;
/** Cards read per board, and live runs read across boards. */
const MAX_CARDS = 1_000;
const MAX_ACTIVE = 100;
const MAX_SANDBOXES = 1000;

type Card = { cardId: string; boardId: string; title: string; status: string; currentRunId?: string };
type Run = { runId: string; status: string; attempt: number; session?: { sandboxId?: string; state: string; heartbeatAt?: number } };
type ActiveRun = { boardId: string; board: string; cardId: string; card: string; cardStatus: string; run?: Run | null };
type SandboxRow = { sandboxId: string; templateId: string; state: string; startedAt: string; metadata: Record<string, string> };

export const status = defineCommand({
  spec: {
    name: "status",
    summary: "Shows the deployment's pinned template, its active runs and their sandboxes, and the sandboxes E2B (or the local host) is running.",
    flags: {
      sandboxes: { type: "boolean", description: "list only the sandboxes (needs E2B_API_KEY, no deployment)" },
      owner: { type: "string", placeholder: "id", description: "walk this owner's boards (default: every live run, via runs:listActive)" },
    },
    details: `The deployment is CONVEX_DEPLOYMENT (from .env.local, via npx convex run) or CONVEX_URL with
CONVEX_ADMIN_KEY. Sandboxes are listed with E2B_API_KEY (and E2B_API_URL for the local host that
lakitu sandbox serve runs). Without a deployment, status fails unless --sandboxes is given.
Live runs come from the component's runs:listActive; a component without it is read board by board
(boards created without an owner, or --owner's).`,
  },
  async run({ flags }, io, out) {
    const env = appEnv(io.cwd, io.env);
    const { deployment, why } = findDeployment(env, io.cwd);
    if (!flags.sandboxes && !deployment) throw new CliError(`${why}`, `${DEPLOYMENT_HINT}; or use lakitu status --sandboxes`, "no_deployment");
    const data: Record<string, unknown> = {};
    if (!flags.sandboxes && deployment) Object.assign(data, await deploymentStatus(deployment, flags.owner, out, io.signal));
    if (env.E2B_API_KEY) data.sandboxes = await listSandboxes(env, out);
    else if (flags.sandboxes) {
      throw new CliError("E2B_API_KEY is not set, so sandboxes cannot be listed", "set E2B_API_KEY (for the local host: the values lakitu sandbox serve prints)", "missing_key");
    } else out.line(c.dim("Sandboxes: not listed (E2B_API_KEY is not set)."));
    return { ok: true, data };
  },
});

async function deploymentStatus(d: Deployment, owner: string | undefined, out: Out, signal: AbortSignal) {
  const config = (await callComponent(d, "config:getConfig", {}, signal)) as { template?: string; templateVersion?: string };
  const pinned = config.template ? `${config.template}${config.templateVersion ? `:${config.templateVersion}` : ""}` : undefined;
  out.line(`${c.bold("Deployment")} ${d.label} ${c.dim(`template: ${pinned ?? "not pinned (the provider's default)"}`)}`);
  const direct = owner === undefined ? await listActive(d, signal) : undefined;
  if (direct) {
    out.line(`${c.bold(`Active runs (${direct.length})`)}`);
    for (const r of direct) out.line(`  board ${r.boardId} / card ${c.bold(r.cardId)}  ${r.status}, attempt ${r.attempt}  ${sandboxText(r)}`);
    return { deployment: d.label, template: config.template ?? null, templateVersion: config.templateVersion ?? null, activeRuns: direct };
  }
  const boards = await pages<{ boardId: string; name: string }>(d, "boards:listBoards", { owner }, signal, MAX_BOARDS);
  const active: ActiveRun[] = [];
  for (const b of boards) {
    const cards = await pages<Card>(d, "cards:listCards", { boardId: b.boardId }, signal, MAX_CARDS);
    for (const card of cards.filter((x) => ACTIVE.has(x.status))) {
      const run = card.currentRunId ? ((await callComponent(d, "runs:getRun", { runId: card.currentRunId }, signal)) as Run | null) : null;
      active.push({ boardId: b.boardId, board: b.name, cardId: card.cardId, card: card.title, cardStatus: card.status, run });
    }
  }
  out.line(`${c.bold(`Active runs (${active.length})`)} ${c.dim(`on ${boards.length} board(s)${owner ? ` of ${owner}` : ""}`)}`);
  for (const a of active) {
    const r = a.run;
    out.line(`  ${a.board} / ${c.bold(a.card)}  ${r ? `${r.status}, attempt ${r.attempt}` : a.cardStatus}  ${r ? sandboxText(r) : ""}`);
  }
  return { deployment: d.label, template: config.template ?? null, templateVersion: config.templateVersion ?? null, boards: boards.length, activeRuns: active };
}

async function listSandboxes(env: Record<string, string | undefined>, out: Out): Promise<SandboxRow[]> {
  const where = env.E2B_API_URL ?? `E2B (${env.E2B_DOMAIN ?? "e2b.app"})`;
  const rows: SandboxRow[] = [];
  try {
    const conn: ConnectionOpts = { apiKey: env.E2B_API_KEY, apiUrl: env.E2B_API_URL, domain: env.E2B_DOMAIN };
    const pager = Sandbox.list({ ...conn, query: { state: ["running", "paused"] }, limit: 100 });
    while (pager.hasNext && rows.length < MAX_SANDBOXES) {
      for (const s of await pager.nextItems()) {
        rows.push({ sandboxId: s.sandboxId, templateId: s.templateId, state: s.state, startedAt: s.startedAt.toISOString(), metadata: s.metadata ?? {} });
      }
    }
  } catch (e) {
    throw new CliError(`cannot list sandboxes on ${where}: ${(e as Error).message}`, "check E2B_API_KEY (and E2B_API_URL for the local host)", "sandboxes");
  }
  out.line(`${c.bold(`Sandboxes (${rows.length})`)} ${c.dim(`on ${where}`)}`);
  for (const s of rows) {
    const lakitu = s.metadata["lakitu.run"] ? `run ${s.metadata["lakitu.run"]}, card ${s.metadata["lakitu.card"] ?? "?"}` : c.dim("not Lakitu's");
    out.line(`  ${s.sandboxId}  ${s.templateId}  ${s.state} since ${s.startedAt}  ${lakitu}`);
  }
  return rows;
}

/**
 * Live runs across all boards, from `runs:listActive` when the component has it; undefined when it
 * does not (then status walks the boards of one owner).
 */
async function listActive(d: Deployment, signal: AbortSignal): Promise<Array<Run & { cardId: string; boardId: string }> | undefined> {
  try {
    const runs = await pages<Run & { cardId: string; boardId: string }>(d, "runs:listActive", {}, signal, MAX_ACTIVE);
    // The list holds summaries; the whole run has the session (sandbox, heartbeat).
    return await Promise.all(runs.map(async (r) => ({ ...r, ...((await callComponent(d, "runs:getRun", { runId: r.runId }, signal)) as Run | null) })));
  } catch (e) {
    if (e instanceof CliError && /Could not find (public )?function/i.test(e.message)) return undefined;
    throw e;
  }
}

/** The items of a paginated component list, page after page, up to `max`. */
async function pages<T>(d: Deployment, path: string, args: Record<string, unknown>, signal: AbortSignal, max: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  while (items.length < max) {
    const paginationOpts = { numItems: Math.min(100, max - items.length), cursor };
    const r = (await callComponent(d, path, { ...args, paginationOpts }, signal)) as { page: T[]; isDone: boolean; continueCursor: string };
    items.push(...r.page);
    if (r.isDone) break;
    cursor = r.continueCursor;
  }
  return items;
}

function sandboxText(r: Run): string {
  const s = r.session;
  return s?.sandboxId ? `sandbox ${s.sandboxId} (${s.state}${s.heartbeatAt ? `, heartbeat ${ago(s.heartbeatAt)}` : ""})` : c.dim("no sandbox yet");
}

function ago(t: number): string {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}
