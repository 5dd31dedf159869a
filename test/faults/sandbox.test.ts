/**
 * The sandbox dies or hangs mid-run: SIGKILL of the runtime process, the sandbox deleted through the
 * E2B SDK, the runtime frozen with SIGSTOP (no heartbeats). The watchdog must end each run; the retry
 * succeeds, or the card blocks when no attempt is left. A slow but healthy runtime is left alone.
 * All scenarios share one stack and run at once.
 */
import { existsSync } from "node:fs";
import { Sandbox } from "e2b";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { reportFile } from "./invariants.js";
import {
  addCard,
  board,
  everythingHolds,
  faultStack,
  firstEvent,
  invariantsHold,
  pidAlive,
  run,
  runsOf,
  runtimePids,
  settle,
  waitFor,
  type FaultStack,
} from "./harness.js";

let fs: FaultStack;
let boards: { retry: string; once: string };
beforeAll(async () => {
  fs = await faultStack({ heartbeatTimeoutMs: 3_000 });
  boards = { retry: (await board(fs.t, "sandbox faults", { maxAttempts: 2 })).boardId, once: (await board(fs.t, "no retry", { maxAttempts: 1 })).boardId };
}, 60_000);
afterAll(async () => {
  try {
    if (fs) await everythingHolds(fs);
  } finally {
    await fs?.close();
    reportFile(import.meta.url);
  }
}, 60_000);

/** A card whose first attempt works for 10 minutes (the retry does not wait); returns it once working. */
async function working(boardId: string, title: string) {
  const cardId = await addCard(fs.t, boardId, title, { scripted_delay_ms: "600000" });
  const { runId } = await fs.runCard(cardId);
  await firstEvent(fs.t, runId, "code");
  const box = fs.s.host.list().find((b) => b.metadata["lakitu.run"] === runId)!;
  return { cardId, runId, box };
}

describe.concurrent("the sandbox dies or hangs", () => {
  test("SIGKILL of the runtime process: the watchdog ends the run (sandbox gone), the retry succeeds", async () => {
    const { cardId, runId, box } = await working(boards.retry, "sigkill runtime");
    const pids = runtimePids(fs.s, runId);
    expect(pids).toHaveLength(1);
    process.kill(pids[0], "SIGKILL");
    const c = await settle(fs.t, cardId);
    expect(c.status).toBe("done");
    const first = await run(fs.t, runId);
    expect(first.status).toBe("failed");
    expect(first.error?.code).toBe("sandbox_gone");
    expect((await runsOf(fs.t, cardId)).map((r) => `${r.attempt}:${r.status}`)).toEqual(["1:failed", "2:succeeded"]);
    await invariantsHold(fs, [cardId]);
    expect(existsSync(box.dir)).toBe(false);
  }, 60_000);

  test("SIGKILL of the runtime with no attempt left: the card blocks", async () => {
    const { cardId, runId } = await working(boards.once, "sigkill, no retry");
    for (const pid of runtimePids(fs.s, runId)) {
      // One may have exited on its own meanwhile (ESRCH).
      try {
        process.kill(pid, "SIGKILL");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
      }
    }
    const c = await settle(fs.t, cardId);
    expect(c.status).toBe("blocked");
    expect((await run(fs.t, runId)).error?.code).toBe("sandbox_gone");
    expect(await runsOf(fs.t, cardId)).toHaveLength(1);
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("the whole sandbox deleted through the E2B SDK: the watchdog ends the run, the retry succeeds", async () => {
    const { cardId, runId, box } = await working(boards.retry, "delete sandbox");
    // apiUrl/sandboxUrl are connection options the SDK marks internal (they point it at the local host).
    const conn = { apiKey: fs.s.host.apiKey, apiUrl: fs.s.host.url, sandboxUrl: fs.s.host.url } as unknown as Parameters<typeof Sandbox.kill>[1];
    expect(await Sandbox.kill(box.sandboxId, conn)).toBe(true);
    const c = await settle(fs.t, cardId);
    expect(c.status).toBe("done");
    expect((await run(fs.t, runId)).error?.code).toBe("sandbox_gone");
    expect((await runsOf(fs.t, cardId)).map((r) => `${r.attempt}:${r.status}`)).toEqual(["1:failed", "2:succeeded"]);
    await invariantsHold(fs, [cardId]);
  }, 60_000);

  test("SIGSTOP of the runtime (alive, silent): heartbeat timeout, the frozen processes are killed, the retry succeeds", async () => {
    const { cardId, runId, box } = await working(boards.retry, "sigstop runtime");
    const pids = runtimePids(fs.s, runId);
    expect(pids).toHaveLength(1);
    process.kill(pids[0], "SIGSTOP");
    const c = await settle(fs.t, cardId);
    expect(c.status).toBe("done");
    const first = await run(fs.t, runId);
    expect(first.status).toBe("failed");
    expect(first.error?.code).toBe("heartbeat_timeout");
    await invariantsHold(fs, [cardId]);
    // The frozen sandbox's kill finishes on its own time (its pid 1 exits once the stopped processes
    // of its namespace are reaped), not necessarily before the retry settles the card.
    await waitFor("the frozen sandbox's processes to be gone", () => !box.pids.some(pidAlive), 15_000);
  }, 60_000);

  test("SIGSTOP with no attempt left: the card blocks and nothing is left running", async () => {
    const { cardId, runId, box } = await working(boards.once, "sigstop, no retry");
    for (const pid of runtimePids(fs.s, runId)) process.kill(pid, "SIGSTOP");
    expect((await settle(fs.t, cardId)).status).toBe("blocked");
    expect((await run(fs.t, runId)).error?.code).toBe("heartbeat_timeout");
    await invariantsHold(fs, [cardId]);
    // The frozen sandbox's kill finishes on its own time (its pid 1 exits once the stopped processes
    // of its namespace are reaped), not necessarily before the retry settles the card.
    await waitFor("the frozen sandbox's processes to be gone", () => !box.pids.some(pidAlive), 15_000);
  }, 60_000);

  test("control: a healthy runtime that works for 8 s (over twice the heartbeat timeout) is not ended", async () => {
    const cardId = await addCard(fs.t, boards.retry, "slow but healthy", { scripted_delay_ms: "8000" });
    const { runId } = await fs.runCard(cardId);
    const c = await settle(fs.t, cardId);
    expect(c.status).toBe("done");
    const r = await run(fs.t, runId);
    expect(r.status).toBe("succeeded");
    expect(r.endedAt! - r.startedAt!).toBeGreaterThan(8_000);
    expect(await runsOf(fs.t, cardId)).toHaveLength(1);
    await invariantsHold(fs, [cardId]);
  }, 60_000);
});
