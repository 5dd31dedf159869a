/**
 * The checker cannot pass vacuously: for each invariant, its guarantee is broken on purpose — in the
 * component (the watchdog disabled, revocation undone, a provider whose kills do nothing) or in the
 * stored data (a secret written in base64 into an event, an event duplicated, an artifact's blob lost,
 * an audit row forged, a second model turn in flight, a card's attempt patched) — and the checker
 * must report it, naming the item. Each break has a control: the same scenario without the fault
 * reports nothing.
 *
 * Runs on the embedded deployment with the test provider and a simulated runtime (the runtime's own
 * client and reporter), so the breaks are exact and the file stays fast.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LakituClient } from "../../runtime/client.js";
import { EventReporter } from "../../runtime/reporter.js";
import { COMPONENT_EVENT_SEQ_BASE } from "../../convex/shared/defaults.js";
import { reportFile } from "./invariants.js";
import { disableWatchdog, skipRevocation } from "./inject.js";
import { addCard, api, board, checkScenario, run, settle, simStack, waitFor, type SimStack } from "./harness.js";
import { encodedForms } from "./secretScan.js";

let fs: SimStack;
let boardId: string;
beforeAll(async () => {
  fs = await simStack({ stuckGraceMs: 5_000 });
  boardId = (await board(fs.t, "checker", { maxAttempts: 1 })).boardId;
}, 60_000);
afterAll(async () => {
  await fs?.close();
  reportFile(import.meta.url);
}, 60_000);

const REPORT = "# Report\n\nOtters hold hands while they sleep so that they do not drift apart.\n";
const sha = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Starts a run and plays its runtime up to "running" (one heartbeat and three events). */
async function started(title: string) {
  const cardId = await addCard(fs.t, boardId, title);
  const { runId } = await fs.runCard(cardId);
  const env = await fs.envOf(runId);
  const client = new LakituClient({ url: `${fs.callbacks.url}/plain`, token: env.LAKITU_TOKEN, generation: Number(env.LAKITU_GENERATION), retry: { initialMs: 50, maxMs: 500 } });
  await waitFor("the run to be running", async () => (await run(fs.t, runId)).status === "running");
  await client.heartbeat();
  const reporter = new EventReporter(client, { secrets: [env.LAKITU_TOKEN], flushMs: 10 });
  for (let i = 0; i < 3; i++) reporter.emit("log", `working ${i}`);
  await reporter.flush();
  return { cardId, runId, env, client };
}

/** A whole run that succeeds: report.md uploaded, completion accepted, card settled. */
async function succeeded(title: string) {
  const r = await started(title);
  await r.client.uploadArtifact("report.md", new TextEncoder().encode(REPORT), { type: "markdown", contentType: "text/markdown", sha256: sha(REPORT) });
  expect((await r.client.complete({ status: "succeeded", manifest: [{ name: "report.md", sha256: sha(REPORT) }] })).accepted).toBe(true);
  expect((await settle(fs.t, r.cardId)).status).toBe("done");
  return r;
}

async function violations(cardIds: string[], extra = {}) {
  return (await checkScenario(fs, cardIds, { settleMs: 0, untallied: true, ...extra })).violations;
}

describe("stuck", () => {
  test("the watchdog disabled: five runs whose runtime hangs are each reported stuck by run, during the scenario and at its end", async () => {
    const undo = await disableWatchdog();
    await fs.t.mutation(api.config.configure, { heartbeatTimeoutMs: 1_000 });
    const hung: Array<Awaited<ReturnType<typeof started>>> = [];
    try {
      for (let i = 0; i < 5; i++) hung.push(await started(`hung ${i}`));
      await waitFor("the monitor to report every hung run", () => hung.every((h) => fs.monitor.violations([h.cardId]).length > 0), 30_000, 200);
      for (const h of hung) {
        const [seen] = fs.monitor.violations([h.cardId]);
        expect(seen).toMatch(new RegExp(`^\\[stuck\\] card ${h.cardId} run ${h.runId} was still running \\d+ ms past its heartbeat timeout`));
        const atEnd = await violations([h.cardId], { graceMs: 1_000 });
        expect(atEnd.some((v) => v.startsWith(`[stuck] card ${h.cardId} run ${h.runId} is still running`) && /ms past its heartbeat timeout .* \+ grace 1000 ms/.test(v))).toBe(true);
        expect((await run(fs.t, h.runId)).status).toBe("running");
      }
    } finally {
      undo();
      await fs.t.mutation(api.config.configure, { heartbeatTimeoutMs: 60_000 });
      for (const h of hung) await fs.t.mutation(api.runs.cancelRun, { runId: h.runId });
    }
  }, 90_000);

  test("control: with the watchdog on, a hung runtime's run is ended (heartbeat_timeout) and nothing is reported", async () => {
    await fs.t.mutation(api.config.configure, { heartbeatTimeoutMs: 1_000 });
    try {
      const h = await started("hung, watched");
      await waitFor("the watchdog to end the run", async () => (await run(fs.t, h.runId)).status === "failed", 30_000, 100);
      expect((await run(fs.t, h.runId)).error?.code).toBe("heartbeat_timeout");
      await settle(fs.t, h.cardId);
      expect(await violations([h.cardId])).toEqual([]);
    } finally {
      await fs.t.mutation(api.config.configure, { heartbeatTimeoutMs: 60_000 });
    }
  }, 60_000);
});

describe("tokens", () => {
  test("revocation removed at the end of the agent phase: the token still answers after the run left it, and the checker names the run", async () => {
    const undo = await skipRevocation();
    try {
      const r = await succeeded("revocation skipped");
      await waitFor("the monitor to probe the token past the grace", () => fs.monitor.violations([r.cardId]).length > 0, 30_000, 200);
      const sessionId = r.env.LAKITU_TOKEN.split(".")[1];
      expect(fs.monitor.violations([r.cardId])).toEqual([expect.stringMatching(new RegExp(`^\\[tokens\\] card ${r.cardId} run ${r.runId}: the token of session ${sessionId} was still accepted \\(HTTP 200\\) \\d+ ms after the agent phase ended`))]);
      const atEnd = await violations([r.cardId]);
      expect(atEnd).toContainEqual(expect.stringMatching(new RegExp(`^\\[tokens\\] card ${r.cardId} run ${r.runId} is succeeded .*but session\\(s\\) ${sessionId} .*still hold a token`)));
      expect((await r.client.heartbeat()).status).toBe("succeeded");
    } finally {
      undo();
    }
  }, 60_000);

  test("control: a normal run's token is refused (401) right after its agent phase, and nothing is reported", async () => {
    const r = await succeeded("revoked");
    await fs.monitor.tick();
    expect(fs.monitor.confirmedRevoked(r.env.LAKITU_TOKEN.split(".")[1])).toBe(true);
    expect(await violations([r.cardId])).toEqual([]);
    await expect(r.client.heartbeat()).rejects.toThrow();
  }, 60_000);
});

describe("secrets", () => {
  test("a token and a key stored in events in every encoding (base64 std/url at 3 alignments, hex) are each reported", async () => {
    const r = await succeeded("encoded secrets");
    const key = `sk-checker-${"k".repeat(8)}${Date.now()}abcdefghijklmnop`;
    const token = r.env.LAKITU_TOKEN;
    const forms = (s: string) => [0, 1, 2].flatMap((pad) => {
      const b64 = Buffer.concat([Buffer.from("xyz".slice(0, pad)), Buffer.from(s)]).toString("base64");
      return [b64, b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")];
    }).concat([Buffer.from(s).toString("hex"), Buffer.from(s).toString("hex").toUpperCase()]);
    const planted: Array<{ id: string; what: string }> = [];
    await fs.t.run(async (ctx: any) => {
      let seq = 100;
      for (const [what, s] of [["token", token], ["key", key]] as const) {
        for (const f of forms(s)) {
          const id = await ctx.db.insert("events", { runId: r.runId, seq: seq++, kind: "log", level: "info", text: `look: ${f} (done)`, ts: Date.now() });
          planted.push({ id, what });
        }
      }
    });
    // Known values (the proxy saw the token; the key is a configured secret) and, without them, the token's shape.
    for (const withValues of [true, false]) {
      const found = (await violations([r.cardId], withValues ? { secrets: [key] } : { tokens: () => [] })).filter((v) => v.startsWith("[secrets]"));
      expect(found).toHaveLength(1);
      for (const p of planted) {
        if (!withValues && p.what === "key") continue;
        expect(found[0]).toContain(` in ${p.id}`);
      }
    }
    await fs.t.run(async (ctx: any) => {
      for (const p of planted) await ctx.db.delete(p.id);
    });
    expect(await violations([r.cardId], { secrets: [key] })).toEqual([]);
  }, 60_000);

  test("every table: a key in the agent component's thread, a stored file, the model server's traffic and the logs are each reported by place", async () => {
    const key = `sk-agent-leak-${Date.now()}-0123456789abcdef`;
    const threadId = await (fs.t as any).runInComponent("agent", async (ctx: any) => await ctx.db.insert("threads", { status: "active", title: "t", summary: `the key is ${Buffer.from(key).toString("base64")}` }));
    const storageId = await fs.t.run(async (ctx: any) => await ctx.storage.store(new Blob([`hex ${Buffer.from(key).toString("hex")}`])));
    const found = (await checkScenario(fs, [], { settleMs: 0, untallied: true, secrets: [key], everyTable: true, modelRequests: () => ["{}", JSON.stringify({ messages: [{ content: `x${key}` }] })], logs: () => ["fine", `oops ${Buffer.from(key).toString("base64url")}`] })).violations;
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[secrets\\] every table: .*\\(base64(url)?\\) in agent/threads/${threadId}`)));
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[secrets\\] every table: .*\\(hex\\) in lakitu/_storage/${storageId}`)));
    expect(found).toContainEqual(expect.stringMatching(/^\[secrets\] model server: .*\(literal\) in request #2$/));
    expect(found).toContainEqual(expect.stringMatching(/^\[secrets\] logs: .*\(base64(url)?\) in log line 2/));
    await (fs.t as any).runInComponent("agent", async (ctx: any) => await ctx.db.delete(threadId));
    await fs.t.run(async (ctx: any) => await ctx.storage.delete(storageId));
    expect((await checkScenario(fs, [], { settleMs: 0, untallied: true, secrets: [key], everyTable: true })).violations.filter((v) => v.startsWith("[secrets]"))).toEqual([]);
  }, 60_000);

  test("encodedForms: every alignment of base64 (std and url-safe) and hex is found inside surrounding text", () => {
    const s = "lkt.abc123.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq";
    const forms = encodedForms(s);
    for (const prefix of ["", "a", "ab", "abc"]) {
      const enc = Buffer.from(`${prefix}${s}tail`).toString("base64");
      expect(forms.some((f) => enc.includes(f))).toBe(true);
      expect(forms.some((f) => enc.replace(/\+/g, "-").replace(/\//g, "_").includes(f))).toBe(true);
    }
  });
});

describe("events, artifacts, audit, budget, sandboxes", () => {
  test("a duplicated event, a lost one and a forged component seq are each reported for the run", async () => {
    const r = await succeeded("events broken");
    const ids = await fs.t.run(async (ctx: any) => {
      const evs = await ctx.db.query("events").withIndex("by_run_seq", (q: any) => q.eq("runId", r.runId)).collect();
      const first = evs.find((e: any) => e.seq === 0);
      const dup = await ctx.db.insert("events", { runId: first.runId, seq: 0, kind: first.kind, level: first.level, text: first.text, ts: first.ts });
      const lost = evs.find((e: any) => e.seq === 1);
      await ctx.db.delete(lost._id);
      const forged = await ctx.db.insert("events", { runId: first.runId, seq: COMPONENT_EVENT_SEQ_BASE + 50, kind: "log", level: "info", text: "forged", ts: Date.now() });
      return { dup, lost, forged };
    });
    const found = await violations([r.cardId]);
    expect(found).toContainEqual(`[events] run ${r.runId} stores 1 duplicate (run, seq) pair(s)`);
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[events\\] run ${r.runId}: runtime events have a gap at seq 1`)));
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[events\\] run ${r.runId}: 1 acknowledged event\\(s\\) are not stored \\(seqs 1\\)`)));
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[events\\] run ${r.runId}: component events are not ${COMPONENT_EVENT_SEQ_BASE}\\.\\. without gap`)));
    await fs.t.run(async (ctx: any) => {
      await ctx.db.delete(ids.dup);
      await ctx.db.delete(ids.forged);
      const { _id, _creationTime, ...rest } = ids.lost;
      void _id;
      void _creationTime;
      await ctx.db.insert("events", rest);
    });
    expect(await violations([r.cardId])).toEqual([]);
  }, 60_000);

  test("a lost artifact blob and a row whose hash does not match its bytes are reported by name", async () => {
    const r = await succeeded("artifact lost");
    const art = await fs.t.run(async (ctx: any) => (await ctx.db.query("artifacts").withIndex("by_card", (q: any) => q.eq("cardId", r.cardId)).collect())[0]);
    await fs.t.run(async (ctx: any) => await ctx.storage.delete(art.storageId));
    expect(await violations([r.cardId])).toContainEqual(`[artifacts] artifact report.md v${art.version} of run ${r.runId}: blob missing`);
    const r2 = await succeeded("artifact corrupt");
    const art2 = await fs.t.run(async (ctx: any) => (await ctx.db.query("artifacts").withIndex("by_card", (q: any) => q.eq("cardId", r2.cardId)).collect())[0]);
    await fs.t.run(async (ctx: any) => await ctx.db.patch(art2._id, { sha256: "0".repeat(64) }));
    const found = await violations([r2.cardId]);
    expect(found).toContainEqual(`[artifacts] artifact report.md v${art2.version} of run ${r2.runId}: blob hashes to ${sha(REPORT)}, row says ${"0".repeat(64)}`);
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[artifacts\\] run ${r2.runId}: the completion lists report.md`)));
  }, 60_000);

  test("a forged audit row and two model turns in flight at once are reported for the run", async () => {
    const r = await succeeded("audit and budget");
    await fs.t.run(async (ctx: any) => {
      await ctx.db.insert("transitions", { entity: "run", cardId: r.cardId, runId: r.runId, from: "queued", to: "succeeded", source: "runtime", reason: "forged" });
      for (const step of [0, 1]) await ctx.db.insert("turns", { runId: r.runId, cardId: r.cardId, step, model: "scripted", status: "reserved", reservedUsd: 0, reservedAt: Date.now(), promptChars: 1 });
    });
    const found = await violations([r.cardId]);
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^\\[audit\\] run ${r.runId}: row \\d+ starts at queued, previous ended at succeeded`)));
    expect(found).toContainEqual(`[budget] run ${r.runId} has 2 model turns in flight at once`);
  }, 60_000);

  test("a card whose currentAttempt is not its current run's attempt (wrong, missing, or left without a run) is reported for the card", async () => {
    const r = await succeeded("attempt patched");
    const patch = (fields: Record<string, unknown>) => fs.t.run(async (ctx: any) => await ctx.db.patch(r.cardId, fields));
    expect(await violations([r.cardId])).toEqual([]);
    await patch({ currentAttempt: 2 });
    expect(await violations([r.cardId])).toEqual([`[attempt] card ${r.cardId} has currentAttempt 2 but its current run ${r.runId} is attempt 1`]);
    await patch({ currentAttempt: undefined });
    expect(await violations([r.cardId])).toEqual([`[attempt] card ${r.cardId} has currentAttempt absent but its current run ${r.runId} is attempt 1`]);
    await patch({ currentRunId: undefined, currentAttempt: 1 });
    expect(await violations([r.cardId])).toEqual([`[attempt] card ${r.cardId} has currentAttempt 1 but no current run`]);
    // Control: the card as the component left it reports nothing.
    await patch({ currentRunId: r.runId, currentAttempt: 1 });
    expect(await violations([r.cardId])).toEqual([]);
  }, 60_000);

  test("a provider whose kills do nothing leaves the sandbox alive: reported for the ended run (scoped and full check)", async () => {
    fs.provider.override = async (req) => (req.op === "kill" ? { ok: true, op: "kill", killed: true } : undefined);
    try {
      const r = await succeeded("sandbox left alive");
      const box = fs.provider.alive().find((b) => b.metadata["lakitu.run"] === r.runId)!;
      expect(box).toBeDefined();
      expect(await violations([r.cardId])).toContainEqual(`[sandboxes] run ${r.runId} is succeeded but sandbox(es) ${box.sandboxId} are alive`);
      expect((await checkScenario(fs, undefined, { settleMs: 0, untallied: true }, true)).violations).toContainEqual(`[sandboxes] sandbox ${box.sandboxId} is alive for ended run ${r.runId}`);
      box.alive = false;
    } finally {
      fs.provider.override = null;
    }
  }, 60_000);
});

describe("limits", () => {
  test("a function that exceeds a Convex limit in the deployment is reported by the scenario check, naming the function and the limit", async () => {
    const before = fs.limits.violations.length;
    // 17 MiB of arguments to a mutation: the deployment refuses it as Convex would, and records it.
    const refused = await fs.t.mutation(api.boards.createBoard, { name: "x".repeat(17 * 1024 * 1024), stages: [] }).catch((e: unknown) => e);
    expect(String(refused)).toMatch(/argumentBytes/);
    const found = (await violations([])).filter((v) => v.startsWith("[limits]"));
    expect(found).toEqual([expect.stringMatching(/^\[limits\] mutation boards:createBoard exceeded Convex's argumentBytes limit/)]);
    // Forget it, so the file's final check (everythingHolds) is about the other scenarios.
    (fs.limits.violations as unknown[]).splice(before);
  });
});
