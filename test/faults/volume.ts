/**
 * The many-events scenario, run as its own process (`node --import tsx test/faults/volume.ts [n]`) so
 * it uses the machine's second core while the rest of scale.test.ts runs. convex-test answers each
 * indexed lookup by scanning every document of the deployment, and storing an event costs one lookup
 * (the duplicate check by (run, seq)), so n events cost O(n²) there — 10,000 take about 150 s of CPU on
 * this machine, where a real deployment does an index seek. scale.test.ts runs 5,000 by default and
 * 10,000 with LAKITU_FAULT_EVENTS=10000.
 *
 * The run's "runtime" is the real one's event pipeline (EventReporter + LakituClient, batches of 100,
 * heartbeating) in this process, with the token the test provider was given, through the callback proxy
 * losing, duplicating, splitting and refusing event requests. Prints one line: `VOLUME_RESULT <json>`.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { LakituClient } from "../../runtime/client.js";
import { EventReporter, startHeartbeat } from "../../runtime/reporter.js";
import { addCard, api, board, rng, run, settle, simStack, waitFor } from "./harness.js";
import { checkInvariants, type InvariantReport } from "./invariants.js";

export type VolumeResult = {
  total: number;
  runs: Record<string, number>;
  seqsInOrder: boolean;
  stored: number;
  ingestMs: number;
  requests: number;
  faults: Record<string, number>;
  cardStatus: string;
  runStatus: string;
  scoped: InvariantReport;
  full: InvariantReport;
};

const REPORT = "# Report\n\nOtters hold hands while they sleep so that they do not drift apart.\n";

export async function tenThousandEvents(total = 10_000): Promise<VolumeResult> {
  const fs = await simStack({ heartbeatTimeoutMs: 60_000 });
  try {
    const { boardId } = await board(fs.t, "ten thousand events", { maxAttempts: 1 });
    const cardId = await addCard(fs.t, boardId, "chatty agent");
    const next = rng(10_000);
    fs.callbacks.script("events10k", (r) => {
      if (r.route !== "events") return { kind: "forward" };
      const x = next();
      return x < 0.04 ? { kind: "lose" } : x < 0.08 ? { kind: "duplicate" } : x < 0.12 ? { kind: "split" } : x < 0.15 ? { kind: "refuse", status: 503 } : { kind: "forward" };
    });
    const { runId } = await fs.runCard(cardId, "events10k");
    const env = await fs.envOf(runId);
    await waitFor("the run to be running", async () => (await run(fs.t, runId)).status === "running");
    const client = new LakituClient({ url: `${fs.callbacks.url}/events10k`, token: env.LAKITU_TOKEN, generation: Number(env.LAKITU_GENERATION), retry: { initialMs: 50, maxMs: 500 } });
    const beat = startHeartbeat(client, { intervalMs: 5_000, onStop: () => {} });
    const reporter = new EventReporter(client, { secrets: [env.LAKITU_TOKEN], batchSize: 100, flushMs: 10 });
    const t0 = Date.now();
    for (let i = 0; i < total; i++) reporter.emit("log", `event ${i}: the agent is still thinking`, { data: { i } });
    await reporter.flush();
    const ingestMs = Date.now() - t0;
    beat.stop();
    const sha = await sha256(REPORT);
    await client.uploadArtifact("report.md", new TextEncoder().encode(REPORT), { type: "markdown", contentType: "text/markdown", sha256: sha });
    await client.complete({ status: "succeeded", summary: `${total} events`, manifest: [{ name: "report.md", type: "markdown", sha256: sha }] });
    const c = await settle(fs.t, cardId, 120_000);
    // Read back through the public query, page by page.
    const seqs: number[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: { page: Array<{ seq: number }>; isDone: boolean; continueCursor: string } = await fs.t.query(api.events.listEvents, { runId, paginationOpts: { numItems: 1000, cursor } });
      seqs.push(...page.page.map((e) => e.seq));
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    const live = fs.live;
    const acked = (s: string) => fs.callbacks.acked.get(s);
    const { events: stored } = await fs.t.run(async (ctx: any) => ({ events: (await ctx.db.query("events").collect()).length }));
    return {
      total,
      runs: { [runId]: stored },
      seqsInOrder: seqs.length === total && seqs.every((s, i) => s === i),
      stored: seqs.length,
      ingestMs,
      requests: fs.callbacks.requests,
      faults: fs.callbacks.applied,
      cardStatus: c.status,
      runStatus: (await run(fs.t, runId)).status,
      scoped: await checkInvariants(fs.t, { cardIds: [cardId], live, acked }),
      full: await checkInvariants(fs.t, { live, acked }, true),
    };
  } finally {
    await fs.close();
  }
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

function isEntry(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  const total = Number(process.argv[2] ?? 10_000);
  tenThousandEvents(total).then(
    (r) => {
      process.stdout.write(`VOLUME_RESULT ${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stdout.write(`VOLUME_RESULT ${JSON.stringify({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) })}\n`);
      process.exit(1);
    },
  );
}
