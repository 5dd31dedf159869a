/**
 * Regenerates `docs/dashboard.png`, the README's screenshot: `lakitu dev` with a three-stage board in
 * Chromium — one card done, one waiting for review, one running (its console open), one idle.
 *   npx tsx scripts/readme-screenshot.ts
 * Uses the browser tests' harness (test/browser/harness.ts) and Debian's chromium.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser, startDev, waitFor } from "../test/browser/harness.js";
import { cardStatus, openRun, pickBoard } from "../test/browser/ui.js";

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "dashboard.png");

const BOARD = {
  name: "Articles",
  stages: [
    { name: "Research", kind: "agent", goals: ["Collect what is known"], deliverables: [{ name: "notes.md", type: "markdown", checks: { minWords: 40 } }], autoAdvance: true },
    {
      name: "Draft",
      kind: "agent",
      goals: ["Write the article", "Tabulate the key figures"],
      deliverables: [
        { name: "article.md", type: "markdown" },
        { name: "figures.csv", type: "csv" },
      ],
      requiresApproval: true,
      autoAdvance: true,
    },
    { name: "Done", kind: "done" },
  ],
};

const dev = await startDev({ boards: { boards: [BOARD] } });
const browser = await launchBrowser();
try {
  const { page: boards } = await dev.call<{ page: Array<{ boardId: string; name: string }> }>("query", "listBoards", { paginationOpts: { numItems: 10, cursor: null } });
  const boardId = boards.find((b) => b.name === BOARD.name)!.boardId;
  const add = (title: string, context?: Record<string, string>) => dev.call<string>("mutation", "addCard", { boardId, title, ...(context ? { context } : {}) });
  const done = await add("Sea otters and kelp");
  const review = await add("Coral reef recovery");
  const running = await add("Deep-sea vents", { scripted_delay_ms: "600000" });
  await add("Mangrove carbon");
  for (const cardId of [done, review]) await dev.call("mutation", "runCard", { cardId });
  const status = async (cardId: string) => (await dev.call<{ status: string } | null>("query", "getCard", { cardId }))?.status;
  await waitFor("a card awaiting review", async () => (await status(done)) === "awaiting_review" && (await status(review)) === "awaiting_review", 120_000);
  await dev.call("mutation", "reviewRun", { runId: (await dev.call<{ currentRunId: string }>("query", "getCard", { cardId: done })).currentRunId, decision: "approved" });
  await waitFor("a card done", async () => (await status(done)) === "done", 60_000);
  await dev.call("mutation", "runCard", { cardId: running });

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(dev.url);
  await pickBoard(page, BOARD.name, "Research");
  await waitFor("the running card", async () => (await cardStatus(page, "Deep-sea vents")) === "running", 60_000);
  await openRun(page, "Deep-sea vents");
  await waitFor("its first step in the console", async () => (await page.locator('ol[aria-label="Console"] li[data-kind="step"]').count()) > 0, 60_000);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await dev.stop();
}
