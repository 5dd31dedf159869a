/**
 * The reaper's cost per tick with 1k / 10k / 100k finished sessions in the table and 10 due.
 *
 * The embedded deployment with the test provider: 30 real runs are started and kept running; the
 * history (ended sessions, half of them with a stale `reapAt`, as a session ended by an old version
 * might carry) is inserted directly; for each size, 10 live sessions are made due and one reaper tick
 * runs inside a mutation that reads `ctx.meta.getTransactionMetrics()` before and after it, so the
 * documents read and queries issued are Convex's own metering of that transaction (as
 * convex/component/reaper.test.ts measures). The baseline is a reaper that scans the sessions table
 * (what a reaper without the `by_state_reapAt` index must do), metered the same way, and a reaper that
 * reads the live sessions through an index on their state and filters the due ones in memory (the best
 * honest alternative: it reads every live session each tick, due or not).
 */
import { api } from "../convex/component/_generated/api.js";
import { startEmbeddedDeployment } from "../cli/embedded/deployment.js";
import { testProvider } from "../convex/testkit/provider.js";
import { SESSION_STATES } from "../convex/shared/validators.js";
import type { Row } from "./stats.js";

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

export async function reaperCost(sizes = [1_000, 10_000, 100_000], due = 10): Promise<Row[]> {
  testProvider.reset();
  const d = await startEmbeddedDeployment({ providerModule: () => import("../convex/testkit/provider.js") });
  try {
    const { t, url, providerHandle } = d;
    await t.mutation(api.config.configure, { heartbeatTimeoutMs: 3_600_000 });
    const { boardId } = await t.mutation(api.boards.createBoard, { name: "reaper", stages: [{ name: "Work", kind: "agent" }, { name: "Done", kind: "done" }] });
    // The live runs first, while the tables are small (convex-test scans its tables on every query).
    const runs: string[] = [];
    for (let i = 0; i < due * sizes.length; i++) {
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: `live ${i}` });
      runs.push((await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url })).runId);
    }
    for (const runId of runs) while ((await t.query(api.runs.getRun, { runId }))?.status !== "running") await sleep(10);
    const anchor = await t.run(async (ctx: any) => (await ctx.db.query("sessions").first())!);

    const rows: Row[] = [];
    let inserted = 0;
    for (const [k, size] of sizes.entries()) {
      while (inserted < size) {
        const n = Math.min(10_000, size - inserted);
        await t.run(async (ctx: any) => {
          const now = Date.now();
          for (let i = 0; i < n; i++) {
            await ctx.db.insert("sessions", {
              runId: anchor.runId,
              cardId: anchor.cardId,
              generation: 1,
              providerHandle,
              state: "ended",
              intendedAt: now - 86_400_000,
              endedAt: now - 3_600_000,
              sandboxId: `old-${inserted + i}`,
              idleTimeoutMs: 600_000,
              heartbeatTimeoutMs: 60_000,
              reapAt: (inserted + i) % 2 === 0 ? now - 1_000 : undefined,
            });
          }
        });
        inserted += n;
      }
      // This size's 10 live sessions fall due (as if their idle limit had just passed).
      const dueRuns = runs.slice(k * due, (k + 1) * due);
      await t.run(async (ctx: any) => {
        for (const runId of dueRuns) {
          const sessions = await ctx.db.query("sessions").withIndex("by_run", (q: any) => q.eq("runId", runId)).collect();
          const live = sessions.find((s: any) => s.state === "running");
          await ctx.db.patch(live._id, { reapAt: Date.now() - 1 });
        }
      });
      const metered = async (f: (ctx: any) => Promise<number>) =>
        await t.mutation(async (ctx: any) => {
          const before = await ctx.meta.getTransactionMetrics();
          const examined = await f(ctx);
          const after = await ctx.meta.getTransactionMetrics();
          return { examined, documentsRead: after.documentsRead.used - before.documentsRead.used, queries: after.databaseQueries.used - before.databaseQueries.used };
        });
      // The naive reaper, first (it only reads): every session, then the due ones among them.
      const naive = await metered(async (ctx) => (await ctx.db.query("sessions").collect()).filter((s: any) => s.state !== "ended" && (s.reapAt ?? Infinity) <= Date.now()).length);
      // The best honest alternative: a reaper that reads the live sessions through an index on their
      // state (every live session, due or not) and picks the due ones in memory.
      const indexed = await metered(async (ctx) => {
        let found = 0;
        for (const state of SESSION_STATES.filter((s) => s !== "ended")) {
          const live = await ctx.db.query("sessions").withIndex("by_state_reapAt", (q: any) => q.eq("state", state)).collect();
          found += live.filter((s: any) => (s.reapAt ?? Infinity) <= Date.now()).length;
        }
        return found;
      });
      // Ours, finding only: the index ranges the reaper itself reads (due sessions only), before it acts.
      const oursFind = await metered(async (ctx) => {
        let found = 0;
        for (const state of SESSION_STATES.filter((s) => s !== "ended")) {
          const now = Date.now();
          found += (await ctx.db.query("sessions").withIndex("by_state_reapAt", (q: any) => q.eq("state", state).gt("reapAt", 0).lte("reapAt", now)).collect()).length;
        }
        return found;
      });
      const ours = await metered(async (ctx) => (await ctx.runMutation(api.reaper.reap, {})).examined);
      const total = await t.run(async (ctx: any) => (await ctx.db.query("sessions").collect()).length);
      const live = await t.run(async (ctx: any) => (await ctx.db.query("sessions").collect()).filter((s: any) => s.state !== "ended").length);
      if (ours.examined !== due) throw new Error(`reaper examined ${ours.examined}, expected ${due}`);
      if (oursFind.examined !== due || indexed.examined !== due || naive.examined !== due) throw new Error("the three ways found different due sessions");
      const fewer = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}x`;
      rows.push({
        section: "reaper",
        metric: `finding the due sessions, ${total.toLocaleString("en")} sessions (${live} live, ${due} due): docs read / queries (baseline: full scan · state index)`,
        value: `${oursFind.documentsRead} / ${oursFind.queries}`,
        baseline: `${naive.documentsRead} / ${naive.queries} · ${indexed.documentsRead} / ${indexed.queries}`,
        ratio: `${fewer(naive.documentsRead, oursFind.documentsRead)} · ${fewer(indexed.documentsRead, oursFind.documentsRead)} fewer reads`,
      });
      rows.push({
        section: "reaper",
        metric: `one whole tick, acting on the ${due} due sessions (reading each one's run and card) included: examined / docs read / queries`,
        value: `${ours.examined} / ${ours.documentsRead} / ${ours.queries}`,
      });
    }
    return rows;
  } finally {
    await d.close();
  }
}
