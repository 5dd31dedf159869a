/**
 * Volume. These scenarios run on the embedded deployment with the test provider (sandboxes in memory)
 * and a simulated runtime in the test process — the runtime's own LakituClient, EventReporter and
 * heartbeat, speaking the real HTTP protocol through the callback proxy with the session token the
 * provider was given. 100 local bubblewrap sandboxes at once take about a minute and a half on this
 * 2-core machine (see BENCHMARKS.md, throughput), which does not fit the suite's time budget.
 *
 * - many events in one run (5,000 by default, LAKITU_FAULT_EVENTS=10000 for the full 10,000; see
 *   volume.ts for why), batches of 100, while the proxy loses answers, duplicates, splits and refuses
 *   event requests; it runs in its own process, in parallel with the rest of this file;
 * - an artifact over the size limit (and one over the route's hard limit): refused, nothing stored,
 *   the run continues and succeeds;
 * - 100 runs at once, each runtime heartbeating, sending events, uploading and completing, a third of
 *   them through a misbehaving proxy.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LakituClient, LakituHttpError, RunOverError } from "../../runtime/client.js";
import { EventReporter, startHeartbeat } from "../../runtime/reporter.js";
import { mergeReport, reportFile } from "./invariants.js";
import type { VolumeResult } from "./volume.js";
import { addCard, api, board, everythingHolds, invariantsHold, rng, run, settle, simStack, waitFor, type SimStack } from "./harness.js";
import { listAll } from "../../convex/testing/listAll.js";

let fs: SimStack;
afterAll(() => reportFile(import.meta.url));

// The many-events run goes in its own process from the start (see volume.ts), in parallel with the rest.
const EVENTS = Number(process.env.LAKITU_FAULT_EVENTS ?? 5_000);
let volume: Promise<VolumeResult & { error?: string; wallMs: number }>;
beforeAll(() => {
  const t0 = Date.now();
  volume = new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(dirname(fileURLToPath(import.meta.url)), "volume.ts"), String(EVENTS)], {
      cwd: join(dirname(fileURLToPath(import.meta.url)), "..", ".."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("VOLUME_RESULT "));
      if (!line) return reject(new Error(`volume.ts exited ${code} without a result:\n${err.slice(-2000)}`));
      resolve({ ...JSON.parse(line.slice("VOLUME_RESULT ".length)), wallMs: Date.now() - t0 });
    });
  });
  volume.catch(() => {});
});

/**
 * Each group gets its own deployment: convex-test answers every query by scanning every document of
 * the deployment, so a group's cost grows with what the others left behind.
 */
function ownStack() {
  beforeAll(async () => {
    fs = await simStack();
  }, 60_000);
  afterAll(async () => {
    try {
      if (fs) await everythingHolds(fs);
    } finally {
      await fs?.close();
      console.log(`callback proxy: ${fs?.callbacks.requests} requests, faults applied ${JSON.stringify(fs?.callbacks.applied)}`);
    }
  }, 60_000);
}

const REPORT = "# Report\n\nOtters hold hands while they sleep so that they do not drift apart.\n";

/** The runtime's HTTP client for a run, as main.ts builds it from the session environment. */
function clientFor(env: Record<string, string>, url: string) {
  return new LakituClient({ url, token: env.LAKITU_TOKEN, generation: Number(env.LAKITU_GENERATION), retry: { initialMs: 50, maxMs: 500 } });
}

async function storageCount() {
  return await fs.t.run(async (ctx: any) => (await ctx.db.system.query("_storage").collect()).length);
}

describe("volume: one run", () => {
  ownStack();
  test("an artifact over the size limit is refused and nothing is stored; the run continues and succeeds", async () => {
    await fs.t.mutation(api.config.configure, { maxArtifactBytes: 64 * 1024 });
    try {
      const { boardId } = await board(fs.t, "big artifact", { maxAttempts: 1 });
      const cardId = await addCard(fs.t, boardId, "too big");
      const { runId } = await fs.runCard(cardId);
      const env = await fs.envOf(runId);
      await waitFor("the run to be running", async () => (await run(fs.t, runId)).status === "running");
      const client = clientFor(env, `${fs.callbacks.url}/plain`);
      const blobs = await storageCount();
      for (const size of [100 * 1024, 17 * 1024 * 1024]) {
        const big = new Uint8Array(size).fill(0x61);
        const e = await client.uploadArtifact("huge.md", big, { type: "markdown", contentType: "text/markdown", sha256: await sha(big) }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(LakituHttpError);
        expect((e as LakituHttpError).status).toBe(413);
      }
      expect(await storageCount()).toBe(blobs);
      expect(await listAll(fs.t, api.artifacts.listArtifacts, { cardId })).toEqual([]);
      expect((await client.heartbeat()).status).toBe("running");
      await client.uploadArtifact("report.md", new TextEncoder().encode(REPORT), { type: "markdown", contentType: "text/markdown", sha256: await sha(REPORT) });
      expect((await client.complete({ status: "succeeded", manifest: [{ name: "report.md" }] })).accepted).toBe(true);
      expect((await settle(fs.t, cardId)).status).toBe("done");
      expect((await run(fs.t, runId)).status).toBe("succeeded");
      expect((await listAll(fs.t, api.artifacts.listArtifacts, { cardId })).map((a) => a.name)).toEqual(["report.md"]);
      await invariantsHold(fs, [cardId]);
    } finally {
      await fs.t.mutation(api.config.configure, { maxArtifactBytes: 10 * 1024 * 1024 });
    }
  }, 60_000);
});

describe("volume: many runs", () => {
  ownStack();
  test("100 runs at once, a third of them through a misbehaving proxy: every card is done, every invariant holds", async () => {
    const { boardId } = await board(fs.t, "a hundred at once", { maxAttempts: 2 });
    const next = rng(100);
    fs.callbacks.script("rough", () => {
      const x = next();
      return x < 0.08 ? { kind: "lose" } : x < 0.16 ? { kind: "duplicate" } : x < 0.22 ? { kind: "refuse", status: 502 } : { kind: "forward" };
    });
    const cards: string[] = [];
    for (let i = 0; i < 100; i++) cards.push(await addCard(fs.t, boardId, `card ${i}`));
    const t0 = Date.now();
    let lostCompletions = 0;
    const runs = await Promise.all(cards.map((cardId, i) => fs.runCard(cardId, i % 3 === 0 ? "rough" : "plain")));
    await Promise.all(
      runs.map(async ({ runId }, i) => {
        const env = await fs.envOf(runId, 120_000);
        const client = clientFor(env, `${fs.callbacks.url}/${i % 3 === 0 ? "rough" : "plain"}`);
        const beat = startHeartbeat(client, { intervalMs: 5_000, onStop: () => {} });
        try {
          const reporter = new EventReporter(client, { secrets: [env.LAKITU_TOKEN], flushMs: 20 });
          for (let k = 0; k < 20; k++) reporter.emit("log", `run ${i} event ${k}`);
          await reporter.flush();
          await client.uploadArtifact("report.md", new TextEncoder().encode(REPORT), { type: "markdown", contentType: "text/markdown", sha256: await sha(REPORT) });
          try {
            await client.complete({ status: "succeeded", manifest: [{ name: "report.md" }] });
          } catch (e) {
            // The proxy lost the answer to an accepted completion and the run was collected before the
            // retry, which then finds the token revoked: the runtime treats that as "over" (run.ts).
            if (!(e instanceof RunOverError)) throw e;
            lostCompletions++;
          }
        } finally {
          beat.stop();
        }
      }),
    );
    await Promise.all(cards.map((cardId) => settle(fs.t, cardId, 120_000)));
    const elapsed = Date.now() - t0;
    const statuses = await Promise.all(cards.map(async (cardId) => (await fs.t.query(api.cards.getCard, { cardId }))!.status));
    expect(statuses.filter((s) => s !== "done")).toEqual([]);
    console.log(`100 simulated runs at once: all done in ${(elapsed / 1000).toFixed(1)} s (${lostCompletions} completion answer(s) lost, then 401)`);
    await invariantsHold(fs, cards);
  }, 240_000);
});

async function sha(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("volume: many events", () => {
  test(`${EVENTS.toLocaleString("en")} events in one run through a lossy, duplicating, reordering proxy: all stored once, in order`, async () => {
    const r = await volume;
    expect(r.error).toBeUndefined();
    console.log(`${r.total} events in one run (own process): ingested in ${(r.ingestMs / 1000).toFixed(1)} s through ${r.requests} requests, faults ${JSON.stringify(r.faults)}`);
    expect(r.stored).toBe(EVENTS);
    expect(r.seqsInOrder).toBe(true);
    expect(r.cardStatus).toBe("done");
    expect(r.runStatus).toBe("succeeded");
    expect(Object.values(r.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    mergeReport([r.scoped, r.full], r.runs);
    expect([...r.scoped.violations, ...r.full.violations]).toEqual([]);
  }, 600_000);
});
