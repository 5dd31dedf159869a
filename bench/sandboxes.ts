/**
 * Local sandboxes through the whole stack: cold start to runtime-ready (many cards at once: throughput.ts).
 */
import { Sandbox } from "e2b";
import { api } from "../convex/component/_generated/api.js";
import { startLocalStack, type LocalStack } from "../cli/embedded/stack.js";
import { FirstRequestProxy } from "./firstRequest.js";
import { median, ms, p95, type Row } from "./stats.js";

async function board(s: LocalStack, name: string) {
  return await s.deployment.t.mutation(api.boards.createBoard, {
    name,
    stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "report.md", type: "markdown" }] }, { name: "Done", kind: "done" }],
  });
}

export async function coldStart(runs = 10): Promise<Row[]> {
  // Between the sandboxes' component bridge and the deployment: it sees the runtime's first request.
  const proxy = await FirstRequestProxy.start();
  const s = await startLocalStack({ warn: () => {}, componentUrl: proxy.url });
  proxy.target = s.deployment.url;
  try {
    const opts = { apiKey: s.host.apiKey, apiUrl: s.host.url, sandboxUrl: s.host.url };
    await (await Sandbox.create("lakitu", opts)).kill(); // warm-up, not counted
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const sbx = await Sandbox.create("lakitu", opts);
      await sbx.commands.run(`${process.execPath} -e 0`);
      bare.push(performance.now() - t0);
      await sbx.kill();
    }
    const { t, url, providerHandle } = s.deployment;
    const { boardId } = await board(s, "cold start");
    const ready: number[] = [];
    for (let i = 0; i < runs; i++) {
      const cardId = await t.mutation(api.cards.addCard, { boardId, title: `cold ${i}` });
      const firstTask = proxy.next("/task");
      const t0 = performance.now();
      await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
      // Runtime ready = the component's /task route receives the runtime's first request (not its first
      // stored event, which waits for the event batch's flush timer).
      ready.push((await firstTask) - t0);
      while ((await t.query(api.cards.getCard, { cardId }))?.status !== "done") await new Promise((r) => setTimeout(r, 20));
    }
    return [
      { section: "sandbox", metric: `cold start: create + first command (median / p95, ${runs}x, ${s.host.isolation})`, value: `${ms(median(bare))} / ${ms(p95(bare))}` },
      { section: "sandbox", metric: "runCard to runtime ready (its first request, /task; incl. workflow start and sandbox create)", value: `${ms(median(ready))} / ${ms(p95(ready))}` },
    ];
  } finally {
    await s.close();
    await proxy.close();
  }
}
