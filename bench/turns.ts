/**
 * The gateway's per-turn overhead: reserving a turn (budget checks, worst-case cost, step counted) and
 * settling it (actual tokens and cost into the run, card and board totals), measured against the floor
 * of one authenticated runtime mutation (a heartbeat) in the same run, interleaved so that load on the
 * machine falls on both alike. Also a whole /llm turn over HTTP with the in-process scripted model.
 */
import { api, internal } from "../convex/component/_generated/api.js";
import { startEmbeddedDeployment } from "../cli/embedded/deployment.js";
import { testProvider } from "../convex/testkit/provider.js";
import { median, ms, p95, type Row } from "./stats.js";

export async function turnOverhead(n = 40): Promise<Row[]> {
  testProvider.reset();
  const d = await startEmbeddedDeployment({ providerModule: () => import("../convex/testkit/provider.js") });
  try {
    const { t, url, providerHandle } = d;
    const { boardId } = await t.mutation(api.boards.createBoard, {
      name: "bench",
      stages: [{ name: "Work", kind: "agent", model: "scripted", limits: { maxSteps: 10_000, maxCostUsd: 100 } }, { name: "Done", kind: "done" }],
    });
    const cardId = await t.mutation(api.cards.addCard, { boardId, title: "turns" });
    const { runId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
    while ((await t.query(api.runs.getRun, { runId }))?.status !== "running") await new Promise((r) => setTimeout(r, 20));
    const env = testProvider.latest().envs;
    const auth = { token: env.LAKITU_TOKEN, generation: Number(env.LAKITU_GENERATION) };
    const headers = { authorization: `Bearer ${env.LAKITU_TOKEN}`, "x-lakitu-generation": env.LAKITU_GENERATION, "content-type": "application/json" };
    const time = async (f: () => Promise<unknown>) => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };
    const accounting: number[] = [];
    const floor: number[] = [];
    const llm: number[] = [];
    const heartbeatHttp: number[] = [];
    let step = 0;
    const usage = { inputTokens: 1_000, cachedInputTokens: 0, outputTokens: 200 };
    for (let i = 0; i < n; i++) {
      // Interleaved: each round measures every variant once.
      floor.push(await time(() => t.mutation(api.runtime.heartbeat, auth)));
      accounting.push(
        await time(async () => {
          const s = step++;
          await t.mutation(internal.gateway.beginTurn, { ...auth, step: s, promptChars: 2_000 });
          await t.mutation(internal.gateway.endTurn, { ...auth, step: s, reply: "ok", usage });
        }),
      );
      heartbeatHttp.push(await time(async () => (await fetch(`${url}/heartbeat`, { method: "POST", headers, body: "{}" })).text()));
      llm.push(
        await time(async () => {
          const r = await fetch(`${url}/llm`, { method: "POST", headers, body: JSON.stringify({ step: step++, observation: "stdout: ok" }) });
          if (!r.ok) throw new Error(`/llm failed: ${r.status} ${await r.text()}`);
        }),
      );
    }
    const run = await t.query(api.runs.getRun, { runId });
    if (run?.usage.steps !== 2 * n) throw new Error(`expected ${2 * n} steps counted, got ${run?.usage.steps}`);
    await t.mutation(api.runs.cancelRun, { runId });
    return [
      {
        section: "turns",
        metric: `reserve + settle a turn (2 mutations, median/p95, ${n} turns)`,
        value: `${ms(median(accounting))} / ${ms(p95(accounting))}`,
        baseline: `${ms(median(floor))} / ${ms(p95(floor))} one heartbeat mutation`,
        ratio: `${(median(accounting) / median(floor)).toFixed(1)}x`,
      },
      {
        section: "turns",
        metric: "a whole /llm turn over HTTP, scripted model (median/p95)",
        value: `${ms(median(llm))} / ${ms(p95(llm))}`,
        baseline: `${ms(median(heartbeatHttp))} / ${ms(p95(heartbeatHttp))} /heartbeat over HTTP`,
        ratio: `${(median(llm) / median(heartbeatHttp)).toFixed(1)}x`,
      },
    ];
  } finally {
    await d.close();
  }
}
