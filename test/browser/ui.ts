/**
 * The dashboard as the browser tests see it: locators by the accessible names of spec 13 (stage
 * columns, cards, the run panel, its console), and the few waits the tests share.
 */
import type { Locator, Page } from "playwright-core";
import { consoleSeqs, waitFor } from "./harness.js";

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A stage column: `<section aria-label="Stage <name>">`. */
export const column = (page: Page, stage: string) => page.locator(`section[aria-label="Stage ${stage}"]`);

/** The card's button (its accessible name starts with the title). */
export const cardButton = (page: Page, title: string) => page.locator('section[aria-label^="Stage "]').getByRole("button", { name: new RegExp(`^${escape(title)}`) }).first();

/** The card's tile: the `<article>` holding its button when there is one, else the button itself. */
export const cardTile = (page: Page, title: string) =>
  page.locator('section[aria-label^="Stage "] article').filter({ has: cardButton(page, title) }).or(cardButton(page, title)).first();

/** The stage name of the column the card is in, or null when it is not on the board. */
export async function cardStage(page: Page, title: string): Promise<string | null> {
  const tile = cardTile(page, title);
  if ((await tile.count()) === 0) return null;
  const label = await tile.evaluate((el) => el.closest('section[aria-label^="Stage "]')?.getAttribute("aria-label") ?? null);
  return label?.replace(/^Stage /, "") ?? null;
}

/** The card's status as shown: its `[data-status]` element's value (or text). */
export async function cardStatus(page: Page, title: string): Promise<string | null> {
  const el = cardTile(page, title).locator("[data-status]").first();
  if ((await el.count()) === 0) return null;
  return (await el.getAttribute("data-status")) || ((await el.textContent()) ?? "").trim();
}

/** Waits until the card shows `status` (and, when given, sits in `stage`). */
export async function waitCard(page: Page, title: string, want: { status?: string; stage?: string }, ms = 90_000) {
  let seen = "";
  await waitFor(`card "${title}" to show ${JSON.stringify(want)}`, async () => {
    const [status, stage] = [await cardStatus(page, title), await cardStage(page, title)];
    seen = `status ${status}, stage ${stage}`;
    return (!want.status || status === want.status) && (!want.stage || stage === want.stage);
  }, ms).catch((e: Error) => {
    throw new Error(`${e.message}; the card showed ${seen}`);
  });
}

/** The run panel: `role="dialog"` or `<aside aria-label="Run">`. */
export const panel = (page: Page) => page.locator('[role="dialog"], aside[aria-label="Run"]').first();

/** The console of the open run panel. */
export const consoleRows = (page: Page) => page.locator('ol[aria-label="Console"] li[data-seq]');

/** A button by its exact name inside `scope`. */
export const button = (scope: Page | Locator, name: string) => scope.getByRole("button", { name, exact: true });

/** Opens the card's run panel (clicks the card) and, unless the card has not run yet, waits for its console. */
export async function openRun(page: Page, title: string, opts: { console?: boolean } = {}) {
  await cardButton(page, title).click();
  await panel(page).getByRole("heading", { name: title, exact: true }).waitFor();
  if (opts.console !== false) await page.locator('ol[aria-label="Console"]').waitFor();
}

/** Opens a board from the board list (going back to it with `All boards` first when a board is open). */
export async function pickBoard(page: Page, name: string, firstStage: string) {
  const back = button(page, "All boards");
  if (await back.count()) await back.click();
  await button(page, name).click();
  await column(page, firstStage).waitFor();
}

/** Waits until the console has at least `n` rows and returns their seqs. */
export async function waitConsole(page: Page, n: number, ms = 60_000): Promise<number[]> {
  return await waitFor(`the console to show ${n} events`, async () => {
    const seqs = await consoleSeqs(page);
    return seqs.length >= n ? seqs : undefined;
  }, ms);
}

/** The role=alert error notes' text. */
export async function alerts(page: Page): Promise<string[]> {
  return (await page.getByRole("alert").allTextContents()).map((s) => s.trim()).filter(Boolean);
}

type Caller = { call<T>(kind: "query" | "mutation", name: string, args: Record<string, unknown>): Promise<T> };
export type RunInfo = { runId: string; attempt: number; status: string; retryContext?: { reviewerNotes: string[] }; review?: { state: string; notes: string[] } };

/** The card's runs through the local API, newest first, each as `getRun` returns it. */
export async function runsOf(dev: Caller, cardId: string): Promise<RunInfo[]> {
  const { page } = await dev.call<{ page: Array<{ runId: string }> }>("query", "listRuns", { cardId, paginationOpts: { numItems: 20, cursor: null } });
  return await Promise.all(page.map((r) => dev.call<RunInfo>("query", "getRun", { runId: r.runId })));
}

/** Every event seq of a run through the local API, in order. */
export async function eventSeqs(dev: Caller, runId: string): Promise<number[]> {
  const seqs: number[] = [];
  let cursor: string | null = null;
  for (;;) {
    const r: { page: Array<{ seq: number }>; isDone: boolean; continueCursor: string } = await dev.call("query", "listEvents", { runId, paginationOpts: { numItems: 200, cursor } });
    seqs.push(...r.page.map((e) => e.seq));
    if (r.isDone) return seqs;
    cursor = r.continueCursor;
  }
}

/** The card id of the open run panel, from the location hash (`#board=…&card=…`). */
export const hashCard = (page: Page) => new URLSearchParams(new URL(page.url()).hash.slice(1)).get("card");
