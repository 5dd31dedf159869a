/** Event ingestion over real HTTP into the embedded component: batched (100 per request) vs one per request. */
import { api } from "../convex/component/_generated/api.js";
import { startEmbeddedDeployment } from "../cli/embedded/deployment.js";
import { testProvider } from "../convex/testkit/provider.js";
import type { Row } from "./stats.js";
import { listAll } from "../convex/testing/listAll.js";

export async function ingest(total = 1000): Promise<Row[]> {
  testProvider.reset();
  const d = await startEmbeddedDeployment({ providerModule: () => import("../convex/testkit/provider.js") });
  try {
    const { t, url, providerHandle } = d;
    const { boardId } = await t.mutation(api.boards.createBoard, { name: "bench", stages: [{ name: "Work", kind: "agent" }, { name: "Done", kind: "done" }] });
    const measure = async (perRequest: number) => {
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: `ingest ${perRequest}` });
      const { runId } = await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
      while ((await t.query(api.runs.getRun, { runId }))?.status !== "running") await new Promise((r) => setTimeout(r, 20));
      const env = testProvider.latest().envs;
      const headers = { authorization: `Bearer ${env.LAKITU_TOKEN}`, "x-lakitu-generation": env.LAKITU_GENERATION, "content-type": "application/json" };
      let requests = 0;
      const t0 = performance.now();
      for (let seq = 0; seq < total; seq += perRequest) {
        const events = Array.from({ length: Math.min(perRequest, total - seq) }, (_, i) => ({ seq: seq + i, kind: "log", text: `event ${seq + i} of the benchmark` }));
        const r = await fetch(`${url}/events`, { method: "POST", headers, body: JSON.stringify({ events }) });
        if (!r.ok) throw new Error(`events POST failed: ${r.status} ${await r.text()}`);
        requests++;
      }
      const seconds = (performance.now() - t0) / 1000;
      const stored = (await listAll(t, api.events.listEvents, { runId })).length;
      if (stored !== total) throw new Error(`stored ${stored} of ${total} events`);
      await t.mutation(api.runs.cancelRun, { runId });
      // Each request is one HTTP action that runs one mutation: two Convex function calls.
      return { perSecond: total / seconds, callsPer1000: (requests * 2 * 1000) / total };
    };
    const batched = await measure(100);
    const single = await measure(1);
    return [
      { section: "events", metric: `ingested per second (${total} events)`, value: `${batched.perSecond.toFixed(0)}/s batched`, baseline: `${single.perSecond.toFixed(0)}/s one per call`, ratio: `${(batched.perSecond / single.perSecond).toFixed(1)}x` },
      { section: "events", metric: "function calls per 1,000 events", value: String(batched.callsPer1000), baseline: String(single.callsPer1000), ratio: `${(single.callsPer1000 / batched.callsPer1000).toFixed(0)}x fewer` },
    ];
  } finally {
    await d.close();
  }
}
