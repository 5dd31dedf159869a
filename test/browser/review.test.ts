/**
 * `lakitu dev` in Chromium: a stage that needs approval (rejected with a note, the retry carries the
 * note, then approved to Done); a slow card stopped while it runs; a component error (a stage at its
 * WIP limit) shown with its code.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { consoleSeqs, launchBrowser, openPage, sleep, startDev, strictlyIncreasing, waitFor, type DevServer, type Shot } from "./harness.js";
import { alerts, button, cardStatus, cardTile, eventSeqs, hashCard, openRun, panel, pickBoard, runsOf, waitCard, waitConsole } from "./ui.js";

const BOARDS = {
  boards: [
    {
      name: "Reviewed",
      stages: [
        {
          name: "Draft",
          kind: "agent",
          goals: ["Draft the piece"],
          deliverables: [{ name: "draft.md", type: "markdown" }],
          requiresApproval: true,
          autoAdvance: true,
          limits: { maxAttempts: 2 },
        },
        { name: "Done", kind: "done" },
      ],
    },
    {
      name: "Slow",
      stages: [
        { name: "Work", kind: "agent", deliverables: [{ name: "work.md", type: "markdown" }], limits: { wipLimit: 1, maxAttempts: 1 } },
        { name: "Done", kind: "done" },
      ],
    },
  ],
};

let dev: DevServer;
let browser: Browser;
let page: Page;
let shot: Shot;
let errors: string[];
let boards: Array<{ boardId: string; name: string }>;

/** How long the second slow card's agent waits: long enough to reload the page while it does. */
const NEXT_DELAY_MS = 15_000;

beforeAll(async () => {
  [dev, browser] = await Promise.all([startDev({ boards: BOARDS }), launchBrowser()]);
  ({ page, shot, errors } = await openPage(browser, "review", dev.url));
  boards = (await dev.call<{ page: Array<{ boardId: string; name: string }> }>("query", "listBoards", { paginationOpts: { numItems: 10, cursor: null } })).page;
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

const boardId = (name: string) => boards.find((b) => b.name === name)!.boardId;

describe("lakitu dev in Chromium: review, stop and errors", () => {
  test("reject with a note: the retry carries it; approve: the card reaches Done", async () => {
    const note = "Cite the 2019 kelp survey in the opening paragraph";
    await pickBoard(page, "Reviewed", "Draft");
    await button(page, "New card").click();
    await page.getByLabel("Title", { exact: true }).fill("Otters need review");
    await button(page, "Add card").click();
    await openRun(page, "Otters need review", { console: false });
    const cardId = hashCard(page)!;
    await button(panel(page), "Run").click();
    await waitCard(page, "Otters need review", { status: "awaiting_review" });
    await panel(page).getByRole("heading", { name: "Review", exact: true }).waitFor();
    await shot("awaiting-review");

    await panel(page).getByLabel("Review note", { exact: true }).fill(note);
    await button(panel(page), "Reject").click();
    // The rejection retries the stage: attempt 2's retry context holds the note, and its panel shows it.
    await waitFor("attempt 2 to start with the note", async () => (await runsOf(dev, cardId)).find((r) => r.attempt === 2 && r.retryContext?.reviewerNotes.includes(note)));
    await waitFor("the run panel to show attempt 2", async () => (await panel(page).getByText(/attempt 2/).count()) > 0);
    await waitFor("the panel to show the reviewer's note for attempt 2", async () => (await panel(page).getByText(`Reviewer: ${note}`, { exact: true }).count()) > 0);
    await shot("rejected-retry");
    await waitCard(page, "Otters need review", { status: "awaiting_review" });
    await panel(page).getByRole("heading", { name: "Review", exact: true }).waitFor();
    await shot("awaiting-review-2");
    await button(panel(page), "Approve").click();
    await waitCard(page, "Otters need review", { status: "done", stage: "Done" });
    await shot("approved-done");
    const runs = await runsOf(dev, cardId);
    expect(runs.map((r) => [r.attempt, r.status, r.review?.state])).toEqual([
      [2, "succeeded", "approved"],
      [1, "succeeded", "rejected"],
    ]);
    expect(runs[1].review?.notes).toEqual([note]);
    expect(errors).toEqual([]);
  });

  test("Stop cancels a running card; Run at the WIP limit shows conflict; a hard reload keeps the console, which then goes on", async () => {
    // The scripted agent's first turn waits this long before writing: the card stays running, quiet.
    const slowId = await dev.call<string>("mutation", "addCard", { boardId: boardId("Slow"), title: "A slow card", context: { scripted_delay_ms: "600000" } });
    const nextId = await dev.call<string>("mutation", "addCard", { boardId: boardId("Slow"), title: "A waiting card", context: { scripted_delay_ms: String(NEXT_DELAY_MS) } });
    await pickBoard(page, "Slow", "Work");
    await openRun(page, "A slow card", { console: false });
    await button(panel(page), "Run").click();
    await waitCard(page, "A slow card", { status: "running" });
    await cardTile(page, "A slow card").getByText("Live", { exact: true }).waitFor();
    const quiet = await settledConsole();
    await shot("slow-running");
    // The sandbox's runtime is among the server's processes, which its teardown checks are all gone.
    await waitFor("the sandbox runtime among lakitu dev's processes", () => dev.processes().some((p) => /runtime\/(dist\/)?main\.js/.test(p.cmd)));

    // A hard reload reopens the same panel and console, exactly.
    await page.reload();
    await panel(page).getByRole("heading", { name: "A slow card", exact: true }).waitFor();
    expect(await waitConsole(page, quiet.length)).toEqual(quiet);
    await sleep(1_000);
    expect(await consoleSeqs(page)).toEqual(quiet);
    await shot("slow-reloaded");

    // The stage allows one card at a time: running the other one is refused with conflict.
    await openRun(page, "A waiting card", { console: false });
    await button(panel(page), "Run").click();
    const alert = await waitFor("the conflict alert", async () => (await alerts(page)).find((a) => a.startsWith("conflict")));
    expect(alert).toContain("WIP limit");
    await shot("error-conflict");
    expect(await cardStatus(page, "A waiting card")).toBe("idle");

    await openRun(page, "A slow card");
    await button(panel(page), "Stop").click();
    await waitCard(page, "A slow card", { status: "idle" });
    await waitFor("the run to be canceled", async () => (await runsOf(dev, slowId))[0]?.status === "canceled");
    await waitFor("the panel to say canceled", async () => (await panel(page).getByText(/canceled/).count()) > 0);
    expect(await cardTile(page, "A slow card").getByText("Live", { exact: true }).count()).toBe(0);
    await shot("stopped");

    // The other card now runs: reloaded while its agent waits, the console comes back as it was and
    // then goes on to the end of the run with no duplicate and no gap.
    await openRun(page, "A waiting card", { console: false });
    await button(panel(page), "Run").click();
    await waitCard(page, "A waiting card", { status: "running" });
    const before = await settledConsole();
    await page.reload();
    await panel(page).getByRole("heading", { name: "A waiting card", exact: true }).waitFor();
    const reloaded = await waitConsole(page, before.length);
    expect(reloaded.slice(0, before.length)).toEqual(before);
    await waitCard(page, "A waiting card", { status: "done", stage: "Done" });
    const [run] = await runsOf(dev, nextId);
    const all = await eventSeqs(dev, run.runId);
    const final = await waitFor("the console to show every event of the run", async () => {
      const seqs = await consoleSeqs(page);
      return seqs.length >= all.length ? seqs : undefined;
    });
    expect(final).toEqual(all);
    expect(final.length).toBeGreaterThan(before.length);
    expect(strictlyIncreasing(final)).toBe(true);
    await shot("reloaded-then-done");
    expect(errors).toEqual([]);
  });
});

/**
 * The console's seqs once the agent's first step is waiting (its code is shown, its output is not yet:
 * the scripted code sleeps `scripted_delay_ms` before it writes anything).
 */
async function settledConsole(): Promise<number[]> {
  const rows = (kind: string) => page.locator(`ol[aria-label="Console"] li[data-kind="${kind}"]`).count();
  await waitFor("the agent's step to be waiting (its code shown)", async () => (await rows("code")) > 0 && (await rows("output")) === 0);
  return await consoleSeqs(page);
}
