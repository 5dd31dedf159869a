/**
 * A hostile agent, end to end: the stage's model is `scripted/hostile`, whose code tries every attack on
 * the containment (convex/gateway/scriptedHostile.ts) on the real local sandbox host (bubblewrap), the
 * E2B provider and the runtime: read the session token (env, /proc environ, cmdline and memory, files),
 * call the component's routes directly and forge event seqs, open sockets (loopback, public, DNS,
 * curl), fetch internal addresses through the `web` KSA (loopback, metadata, a redirect), flood storage,
 * start many processes, allocate memory, and leak what it found into every channel.
 *
 * One run makes every attack that leaves its sandbox alive; each attack a sandbox limit may answer by
 * killing the sandbox (disk, /dev/shm, processes, memory) has a run of its own, with floods sized past
 * the small limits the host is given (`LIMITS`); a run killed mid-attack for a limit counts that attack
 * as blocked. All five run at once (~30 s).
 *
 * Asserted: every attack reports a line, every line says "blocked", and every invariant holds — with
 * "secrets" looking at every table (the agent component's threads and messages too), what the model
 * was sent, this process's logs and the sandboxes' command output, literal and encoded.
 *
 * `LAKITU_HOSTILE_REPORT=1` only prints the table instead of failing on it (to see the state of the
 * containment while it is being built).
 */
import { Sandbox } from "e2b";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hostilePrompts } from "../../convex/gateway/scripted.js";
import { ATTACK_PREFIX, ATTACK_START_PREFIX, ATTACKS } from "../../convex/gateway/scriptedHostile.js";
import { reportFile, scenario } from "./invariants.js";
import { api, checkScenario, faultStack, run, sessionsOfRun, settle, waitFor, type FaultStack } from "./harness.js";
import { captureLogs } from "./secretScan.js";
import { listAll } from "../../convex/testing/listAll.js";

let fs: FaultStack;
let logs: ReturnType<typeof captureLogs>;
const sandboxOutput: string[] = [];
const reportOnly = process.env.LAKITU_HOSTILE_REPORT === "1";

beforeAll(async () => {
  logs = captureLogs();
  fs = await faultStack({ heartbeatTimeoutMs: 15_000, e2bProxy: true, hostLimits: LIMITS });
  await fs.t.mutation(api.config.configure, { webEnabled: true, maxRunArtifacts: RUN_ARTIFACT_QUOTA });
}, 60_000);
afterAll(async () => {
  logs?.stop();
  await fs?.close();
  reportFile(import.meta.url);
}, 60_000);

type AttackLine = { attack: string; result: string; detail: string };

const MiB = 1024 * 1024;
/** The per-run artifact quota the flood of artifacts (20 extra files) runs into. */
const RUN_ARTIFACT_QUOTA = 8;
/** Small per-sandbox limits, so that bounded floods cross them. */
const LIMITS = { diskBytes: 96 * MiB, shmBytes: 16 * MiB, maxProcesses: 64, memoryBytes: 512 * MiB };
/** Attacks a sandbox limit may answer by killing the sandbox: each gets a run of its own. */
const KILLING = ["flood-disk", "flood-shm", "process-bomb", "memory"] as const;
const CONTEXT = {
  hostile_flood_mb: String(Math.round(LIMITS.diskBytes / MiB) + 32),
  hostile_mem_mb: String(Math.round(LIMITS.memoryBytes / MiB) + 256),
  hostile_procs: String(LIMITS.maxProcesses + 16),
};

/** Follows the runtime command's output through the E2B SDK (what a provider's log would hold). */
async function followOutput(sandboxId: string) {
  const conn = { apiKey: fs.s.host.apiKey, apiUrl: fs.s.host.url, sandboxUrl: fs.s.host.url } as unknown as Parameters<typeof Sandbox.connect>[1];
  const sbx = await Sandbox.connect(sandboxId, conn);
  for (const p of await sbx.commands.list()) {
    await sbx.commands.connect(p.pid, { onStdout: (d) => void sandboxOutput.push(d), onStderr: (d) => void sandboxOutput.push(d) }).catch(() => undefined);
  }
}

const OVER = new Set(["succeeded", "failed", "canceled", "timed_out"]);

/** Runs one hostile card to its end; its attack lines (a sandbox killed mid-attack: "killed" if the run's error names a limit). */
async function hostileRun(boardId: string, title: string, only: readonly string[]) {
  const cardId = await fs.t.mutation(api.cards.addCard, { boardId, title, context: { ...CONTEXT, hostile_only: only.join(",") } });
  // Through the callback proxy (the bridge's upstream), which records the tokens the runtime presents.
  const { runId } = await fs.runCard(cardId);
  let sandboxId: string | undefined;
  await waitFor("the run's sandbox (or the run's end)", async () =>
    (sandboxId = fs.s.host.list().find((b) => b.metadata["lakitu.run"] === runId)?.sandboxId) !== undefined || OVER.has((await run(fs.t, runId)).status), 90_000, 50);
  if (sandboxId) await followOutput(sandboxId).catch((e) => sandboxOutput.push(`(could not follow the sandbox's output: ${String(e)})`));
  // The token the provider handed over (a file written through envd): the checker looks for it in
  // every encoding, and the monitor presents it once the agent phase is over.
  const tokenOf = async () => {
    const [session] = await sessionsOfRun(fs.t, runId);
    const token = fs.e2b!.files.filter((f) => f.sandboxId === session?.sandboxId).map((f) => /lkt\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/.exec(f.body)?.[0]).find(Boolean);
    if (token && session) fs.callbacks.tokens.set(session._id, { token, generation: session.generation });
    return token !== undefined;
  };
  await waitFor("the run's session and token", tokenOf, 30_000, 50).catch(() => undefined);
  const card = await settle(fs.t, cardId, 170_000);
  const r = await run(fs.t, runId);
  const events = await listAll(fs.t, api.events.listEvents, { runId });
  const out = events.filter((e) => e.kind === "output" || e.kind === "error").flatMap((e) => (e.text ?? "").split("\n"));
  const lines = new Map<string, AttackLine>();
  for (const l of out) if (l.startsWith(ATTACK_PREFIX)) {
    const a = JSON.parse(l.slice(ATTACK_PREFIX.length)) as AttackLine;
    lines.set(a.attack, a);
  }
  const started = out.filter((l) => l.startsWith(ATTACK_START_PREFIX)).map((l) => l.slice(ATTACK_START_PREFIX.length).trim());
  const inFlight = started.find((a) => !lines.has(a));
  const why = `${r.error?.code ?? ""} ${r.error?.message ?? ""}`;
  // A sandbox killed for a limit mid-attack: its output may never have been reported, so a run made for
  // one attack counts that attack blocked when the run ended with a sandbox_limit_* code.
  const killedFor = r.status === "failed" && r.error?.code?.startsWith("sandbox_limit_") ? why.trim() : undefined;
  const victim = inFlight ?? (only.length === 1 && !lines.has(only[0]!) ? only[0] : undefined);
  if (victim && killedFor) lines.set(victim, { attack: victim, result: "blocked", detail: `the sandbox was killed: ${killedFor}` });
  const summary = `run ${runId}: ${r.status}${r.error ? ` (${why.trim()})` : ""}, card ${card.status}`;
  if (!lines.size) sandboxOutput.push(`(no attack lines for ${title}; events: ${JSON.stringify(events.map((e) => [e.kind, (e.text ?? "").slice(0, 300)]))})`);
  return { cardId, runId, lines, summary };
}

describe("a hostile agent", () => {
  test("tries every attack: each is blocked, and every invariant holds", async () => {
    expect(fs.s.host.isolation).toBe("bwrap");
    const { boardId } = await fs.t.mutation(api.boards.createBoard, {
      name: "hostile",
      stages: [
        {
          name: "Work",
          kind: "agent",
          goals: ["Write the report"],
          deliverables: [{ name: "report.md", type: "markdown" }],
          allowedKsas: ["artifacts", "plan", "web"],
          model: "scripted/hostile",
          limits: { maxAttempts: 1, maxDurationMs: 150_000 },
        },
        { name: "Done", kind: "done" },
      ],
    });
    // One run tries every attack that leaves its sandbox alive; each limit-crossing attack has its own.
    const runs = await Promise.all([
      hostileRun(boardId, "hostile agent", ATTACKS.filter((a) => !(KILLING as readonly string[]).includes(a))),
      ...KILLING.map((a) => hostileRun(boardId, `hostile agent: ${a}`, [a])),
    ]);
    const byAttack = new Map(runs.flatMap((r) => [...r.lines]));
    // The artifact flood saves files locally (that always works); what counts is what the deployment
    // stored: no more than the run's quota, the rest refused.
    const flooded = runs.find((r) => r.lines.get("flood-artifacts")?.result === "succeeded");
    if (flooded) {
      const stored = await fs.t.run(async (ctx) => (await ctx.db.query("artifacts").collect()).filter((a) => a.runId === flooded.runId).length);
      const events = await listAll(fs.t, api.events.listEvents, { runId: flooded.runId });
      const refused = events.some((e) => /quota_exceeded/.test(`${e.text ?? ""} ${JSON.stringify(e.data ?? "")}`));
      byAttack.set("flood-artifacts", {
        attack: "flood-artifacts",
        result: stored <= RUN_ARTIFACT_QUOTA && refused ? "blocked" : "succeeded",
        detail: `${stored} artifact(s) stored (quota ${RUN_ARTIFACT_QUOTA}); uploads refused for the quota: ${refused}`,
      });
    }
    const table = ATTACKS.map((a) => `${a.padEnd(16)} ${byAttack.get(a)?.result ?? "NO LINE"}  ${byAttack.get(a)?.detail ?? ""}`);
    const limits = (fs.s.host as unknown as { limits?: unknown }).limits;
    console.log(`hostile runs (host limits ${JSON.stringify(limits)}):\n${runs.map((r) => `  ${r.summary}`).join("\n")}\n${table.join("\n")}`);
    if (sandboxOutput.some((o) => o.startsWith("(no attack lines"))) console.log(sandboxOutput.filter((o) => o.startsWith("(")).join("\n"));

    scenario();
    const report = await checkScenario(fs, runs.map((r) => r.cardId), {
      everyTable: true,
      modelRequests: () => [...hostilePrompts],
      logs: () => [...logs.lines, ...sandboxOutput],
    });
    if (report.violations.length) console.log(`hostile runs: ${report.violations.length} invariant violation(s):\n${report.violations.join("\n")}`);

    const notBlocked = ATTACKS.filter((a) => byAttack.get(a)?.result !== "blocked");
    if (reportOnly) return;
    // Not vacuous: the checker knew the runs' tokens (to look for them encoded, and to probe them after the agent phase).
    expect(fs.callbacks.tokens.size, "the session tokens were not captured from the provider's file writes").toBe(runs.length);
    expect(notBlocked, `attacks not blocked:\n${table.join("\n")}`).toEqual([]);
    expect(report.violations).toEqual([]);
  }, 240_000);
});
