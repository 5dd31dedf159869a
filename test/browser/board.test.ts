/**
 * `lakitu dev` in Chromium: a board and a card made in the UI; a card run from the keyboard through two
 * agent stages to Done with its console streaming; its markdown, CSV and PDF artifacts previewed; a
 * hard reload that reopens the same run with the same console; the page at phone width.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { consoleSeqs, launchBrowser, openPage, sleep, startDev, strictlyIncreasing, waitFor, type DevServer, type Shot } from "./harness.js";
import { alerts, button, cardButton, cardStage, column, eventSeqs, hashCard, openRun, panel, pickBoard, runsOf, waitCard, waitConsole } from "./ui.js";

const PIPELINE = {
  name: "Pipeline",
  stages: [
    { name: "Research", kind: "agent", goals: ["Collect what is known"], deliverables: [{ name: "notes.md", type: "markdown", checks: { minWords: 40 } }], autoAdvance: true },
    {
      name: "Publish",
      kind: "agent",
      goals: ["Write the article", "Tabulate the key figures"],
      deliverables: [
        { name: "article.md", type: "markdown" },
        { name: "figures.csv", type: "csv" },
        { name: "article.pdf", type: "pdf" },
      ],
      autoAdvance: true,
    },
    { name: "Done", kind: "done" },
  ],
};

let dev: DevServer;
let browser: Browser;
let page: Page;
let shot: Shot;
let errors: string[];

beforeAll(async () => {
  [dev, browser] = await Promise.all([startDev({ boards: { boards: [PIPELINE] } }), launchBrowser()]);
  ({ page, shot, errors } = await openPage(browser, "board", dev.url));
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe("lakitu dev in Chromium: the board", () => {
  test("a board and a card made in the UI; a component error shown with its code", async () => {
    // The dashboard says plainly that run history is not kept (the server's own note, /api/info).
    await waitFor("the persistence notice", async () => ((await page.getByRole("note").first().textContent()) ?? "").includes("Run history is not kept"));
    await button(page, "New board").click();
    await page.getByLabel("Board name", { exact: true }).fill("Made in the browser");
    const stageNames = page.getByLabel("Stage name", { exact: true });
    await stageNames.first().fill("Write");
    await button(page, "Add stage").click();
    await stageNames.nth(1).fill("Write");
    await shot("new-board-form");
    // Two stages of one name: the component refuses it, and the UI shows its code and message.
    await button(page, "Create board").click();
    await waitFor("the invalid_argument alert", async () => (await alerts(page)).find((a) => a.includes("invalid_argument") && a.includes("appears twice")));
    await shot("error-invalid-argument");
    await stageNames.nth(1).fill("Done");
    await page.getByLabel("Kind", { exact: true }).nth(1).selectOption("done");
    await button(page, "Create board").click();
    await column(page, "Write").waitFor();
    await column(page, "Done").waitFor();

    await button(page, "New card").click();
    await page.getByLabel("Title", { exact: true }).fill("A card from the browser");
    await button(page, "Add card").click();
    await cardButton(page, "A card from the browser").waitFor();
    expect(await cardStage(page, "A card from the browser")).toBe("Write");
    await waitCard(page, "A card from the browser", { status: "idle" });
    await shot("board-created");
    expect(errors).toEqual([]);
  });

  test("Run from the keyboard: the console streams by seq and the card moves through the stages to Done", async () => {
    await pickBoard(page, PIPELINE.name, "Research");
    await button(page, "New card").click();
    await page.getByLabel("Title", { exact: true }).fill("Kelp forests");
    await button(page, "Add card").click();
    await cardButton(page, "Kelp forests").waitFor();
    await shot("pipeline-card-added");

    // Keyboard only: Tab to the card, Enter opens its run panel, Tab to Run, Enter runs it.
    const onCard = () => cardButton(page, "Kelp forests").evaluate((el) => el === document.activeElement);
    for (let i = 0; i < 40 && !(await onCard()); i++) await page.keyboard.press("Tab");
    expect(await onCard()).toBe(true);
    await page.keyboard.press("Enter");
    await panel(page).getByRole("heading", { name: "Kelp forests", exact: true }).waitFor();
    const run = button(panel(page), "Run");
    const onRun = () => run.evaluate((el) => el === document.activeElement);
    for (let i = 0; i < 10 && !(await onRun()); i++) await page.keyboard.press("Tab");
    expect(await onRun()).toBe(true);
    await shot("pipeline-run-focused");
    await page.keyboard.press("Enter");
    await page.locator('ol[aria-label="Console"]').waitFor();

    const stages: string[] = [];
    const snapshots: number[][] = [];
    await waitFor("the card to reach Done", async () => {
      const stage = await cardStage(page, "Kelp forests");
      if (stage && stages.at(-1) !== stage) {
        stages.push(stage);
        await shot(`pipeline-stage-${stage}`);
      }
      snapshots.push(await consoleSeqs(page));
      return stage === "Done";
    }, 150_000);
    expect(stages).toEqual(["Research", "Publish", "Done"]);
    // The console grew while the run went on, always strictly increasing (no duplicates).
    for (const seqs of snapshots) expect(strictlyIncreasing(seqs)).toBe(true);
    const sizes = snapshots.map((s) => s.length);
    expect(new Set(sizes.filter((n) => n > 0)).size).toBeGreaterThan(1);
    await waitCard(page, "Kelp forests", { status: "done", stage: "Done" });
    await shot("pipeline-done");
    expect(errors).toEqual([]);
  });

  test("the Publish run's markdown, CSV and PDF artifacts, previewed", async () => {
    await panel(page).waitFor();
    await panel(page).getByRole("heading", { name: "Artifacts", exact: true }).first().scrollIntoViewIfNeeded();
    const open = async (name: string) => {
      const preview = page.locator(`section[aria-label="Preview ${name}"]`);
      if ((await preview.count()) === 0) await panel(page).getByRole("button", { name, exact: true }).or(panel(page).getByRole("link", { name, exact: true })).first().click();
      await preview.waitFor();
      await preview.scrollIntoViewIfNeeded();
      return preview;
    };
    const md = await open("article.md");
    const html = async () => `the preview: ${(await md.innerHTML()).slice(0, 800)}`;
    await waitFor("a rendered heading in the markdown preview", async () => (await md.locator("h1, h2, h3").count()) > 0, 20_000, html);
    // The scripted agent's article: "# Kelp forests: article.md", "## Goals" with the stage's goals as a list.
    expect(await md.getByRole("heading", { level: 1, name: "Kelp forests: article.md", exact: true }).count()).toBe(1);
    expect(await md.getByRole("heading", { level: 2, name: "Goals", exact: true }).count()).toBe(1);
    expect(await md.locator("ul > li").allTextContents()).toEqual(PIPELINE.stages[1].goals);
    expect(await md.locator("p").count()).toBeGreaterThan(0);
    expect(await md.textContent()).not.toContain("## ");
    await shot("artifact-markdown", md);

    const csv = await open("figures.csv");
    await csv.locator("table td").first().waitFor();
    // item,detail rows: one per goal, then the card's title.
    for (const text of [...PIPELINE.stages[1].goals!, "Kelp forests"]) expect(await csv.getByRole("cell", { name: text, exact: true }).count()).toBe(1);
    await shot("artifact-csv", csv);

    const pdf = await open("article.pdf");
    const frame = pdf.locator('iframe[title="article.pdf"], object');
    await frame.first().waitFor();
    const src = await frame.first().evaluate((el) => (el as HTMLIFrameElement).src || (el as HTMLObjectElement).data);
    await pdf.scrollIntoViewIfNeeded();
    const res = await page.request.get(src);
    expect(res.status()).toBe(200);
    expect(res.headers()["content-type"]).toMatch(/^application\/pdf/);
    expect((await res.body()).subarray(0, 5).toString()).toBe("%PDF-");
    await shot("artifact-pdf", pdf);
    expect(errors).toEqual([]);
  });

  test("a hard reload reopens the same run panel with exactly the same console, every event of the run", async () => {
    const before = await waitConsole(page, 1);
    const hash = new URL(page.url()).hash;
    await page.reload();
    await panel(page).getByRole("heading", { name: "Kelp forests", exact: true }).waitFor();
    expect(new URL(page.url()).hash).toBe(hash);
    const after = await waitConsole(page, before.length);
    expect(after).toEqual(before);
    await shot("reloaded");
    // Exactly the run's events as the API lists them: no gap, no duplicate.
    const [latest] = await runsOf(dev, hashCard(page)!);
    expect(await eventSeqs(dev, latest.runId)).toEqual(after);
    await sleep(1_000);
    expect(await consoleSeqs(page)).toEqual(before);
    expect(errors).toEqual([]);
  });

  test("phone width: no horizontal overflow; Escape closes the run panel", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.keyboard.press("Escape");
    await waitFor("the run panel to close", async () => (await panel(page).count()) === 0 || !(await panel(page).isVisible()));
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await shot("phone");
    expect(fits).toBe(true);
    await openRun(page, "Kelp forests");
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await shot("phone-run");
    expect(errors).toEqual([]);
  });
});
