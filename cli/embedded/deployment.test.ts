/**
 * The embedded deployment's own machinery, measured: each module is imported once however many
 * functions run, the counters see every HTTP request, function call and document written, and an
 * events batch costs the same number of index ranges whatever its size (one duplicate check per batch).
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import { testProvider } from "../../convex/testkit/provider.js";
import { startEmbeddedDeployment, type EmbeddedDeployment } from "./deployment.js";
import { loadOnce, moduleLoads } from "./modules.js";

let d: EmbeddedDeployment;
let headers: Record<string, string>;

beforeAll(async () => {
  testProvider.reset();
  d = await startEmbeddedDeployment({ providerModule: () => import("../../convex/testkit/provider.js") });
  const { boardId } = await d.t.mutation(api.boards.createBoard, { name: "embedded", stages: [{ name: "Work", kind: "agent" }, { name: "Done", kind: "done" }] });
  const cardId = await d.t.mutation(api.cards.addCard, { boardId, title: "embedded" });
  const { runId } = await d.t.mutation(api.runs.runCard, { cardId, providerHandle: d.providerHandle, callbackUrl: d.url });
  for (let i = 0; (await d.t.query(api.runs.getRun, { runId }))?.status !== "running"; i++) {
    if (i > 1_000) throw new Error("the run did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const env = testProvider.latest().envs;
  headers = { authorization: `Bearer ${env.LAKITU_TOKEN}`, "x-lakitu-generation": env.LAKITU_GENERATION, "content-type": "application/json" };
});
afterAll(async () => {
  await d?.close();
});

async function post(from: number, count: number) {
  const events = Array.from({ length: count }, (_, i) => ({ seq: from + i, kind: "log", text: `event ${from + i}` }));
  const before = d.counters.snapshot();
  const r = await fetch(`${d.url}/events`, { method: "POST", headers, body: JSON.stringify({ events }) });
  expect(r.status).toBe(200);
  expect(await r.json()).toMatchObject({ stored: count, duplicates: 0 });
  return d.counters.since(before);
}

test("loadOnce calls its loader once, shares the result, and retries a failed load", async () => {
  let calls = 0;
  const flaky = loadOnce(async () => {
    if (++calls === 1) throw new Error("first load fails");
    return { calls };
  });
  await expect(flaky()).rejects.toThrow("first load fails");
  const [a, b] = await Promise.all([flaky(), flaky()]);
  expect(a).toBe(b);
  expect(calls).toBe(2);
});

test("function calls after the first do not import modules again", async () => {
  await post(0, 1); // every module the route needs is loaded now
  const before = { ...moduleLoads };
  await post(1, 1);
  await post(2, 1);
  // convex-test asked for modules on each call (the HTTP route, the mutation, ...); none was imported.
  expect(moduleLoads.requests - before.requests).toBeGreaterThanOrEqual(4);
  expect(moduleLoads.imports - before.imports).toBe(0);
});

test("an events batch is one HTTP request, one mutation and one index range per batch, whatever its size", async () => {
  const one = await post(100, 1);
  const fifty = await post(101, 50);
  for (const c of [one, fifty]) {
    expect(c.http).toBe(1);
    expect(c.byFunction["runtime:events"]?.calls).toBe(1);
  }
  // 50 inserts and the run's event count (the session's activity stamp at most once).
  expect(fifty.byFunction["runtime:events"].documentsWritten).toBeGreaterThanOrEqual(51);
  expect(fifty.byFunction["runtime:events"].documentsWritten).toBeLessThanOrEqual(52);
  // The duplicate check does not grow with the batch (it was one query per event).
  expect(fifty.byFunction["runtime:events"].indexRanges).toBe(one.byFunction["runtime:events"].indexRanges);
});

test("an upload succeeds while other transactions start and commit as its blob is stored (storageWrites.ts)", async () => {
  const body = new Uint8Array(8 * 1024 * 1024).fill(65);
  for (let i = 0; i < 3; i++) {
    // Short transactions, one after another, for as long as the upload takes: one of them is running,
    // and commits, while convex-test hashes the blob and writes its _storage row.
    let uploading = true;
    const busy = (async () => {
      for (let n = 0; uploading && n < 2_000; n++) {
        await d.t.run(async (ctx: any) => await ctx.db.query("cards").collect());
        await new Promise((r) => setImmediate(r)); // others may take the transaction lock in between
      }
    })();
    const r = await fetch(`${d.url}/artifacts?name=big-${i}.txt&type=text`, { method: "POST", headers: { ...headers, "content-type": "text/plain" }, body });
    uploading = false;
    await busy;
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true });
  }
});
