/**
 * `LakituDashboard` against the real component in convex-test, through by-name references (as
 * `lakitu dev` makes them) and the real `convex/react` hooks: what a person sees and what each button
 * does to the deployment.
 */
import { cleanup, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/component/_generated/api.js";
import { CALLBACK_URL, SimRuntime, makeBoard, setup, until, type T } from "../../convex/testing/harness.js";
import { testProvider } from "../../convex/testkit/provider.js";
import { advanceHeartbeating, getCard, getRun, runCard, startRunning } from "../../convex/testing/runHelpers.js";
import { LakituDashboard } from "../Dashboard.js";
import { componentRunners, functionsByName, storageFetch } from "../testing/componentFunctions.js";
import { renderUi } from "../testing/render.js";
import type { LakituFunctions } from "../functions.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
  location.hash = "";
});

async function deployment() {
  const { t, providerHandle } = await setup();
  // Artifact previews read the uploaded bytes from the test deployment's storage, never the network.
  vi.stubGlobal("fetch", storageFetch(t));
  return { t, providerHandle, ...componentRunners(t, { providerHandle, callbackUrl: CALLBACK_URL }) };
}

async function show(d: Awaited<ReturnType<typeof deployment>>, props: { boardId?: string; hashRoute?: boolean; functions?: LakituFunctions } = {}) {
  const h = renderUi(d.run, <LakituDashboard functions={props.functions ?? functionsByName()} boardId={props.boardId} hashRoute={props.hashRoute} />, d.mutate);
  await h.settle();
  return h;
}

const column = (name: string) => screen.getByRole("region", { name: `Stage ${name}` });
const cardButton = (title: string) => screen.getByRole("button", { name: new RegExp(`^${title}`) });
const statusOf = (title: string) => cardButton(title).querySelector("[data-status]")?.getAttribute("data-status");
const panel = () => screen.getByRole("complementary", { name: "Run" });

async function click(h: { act: (fn: () => unknown) => Promise<void>; flush: () => Promise<void> }, el: HTMLElement) {
  await h.act(() => fireEvent.click(el));
  await h.flush();
}

describe("the board", () => {
  test("stages are columns in order with their cards and statuses; a new card added through the form appears", async () => {
    const d = await deployment();
    const { boardId } = await makeBoard(d.t);
    const h = await show(d, { boardId });
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Pipeline");
    const columns = screen.getAllByRole("region").filter((r) => r.getAttribute("aria-label")?.startsWith("Stage "));
    expect(columns.map((c) => c.getAttribute("aria-label"))).toEqual(["Stage Research", "Stage Draft", "Stage Done"]);
    expect(within(column("Research")).getByRole("button", { name: /^Write about otters/ })).toBeTruthy();
    expect(statusOf("Write about otters")).toBe("idle");
    expect(within(column("Draft")).queryAllByRole("button")).toHaveLength(0);

    await click(h, screen.getByRole("button", { name: "New card" }));
    // An empty title is refused by the form, by field, without a call.
    await click(h, screen.getByRole("button", { name: "Add card" }));
    expect(screen.getByText(/Title is required/)).toBeTruthy();
    expect(h.client.mutations).toEqual([]);
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "Sea otters" } });
    fireEvent.change(screen.getByLabelText("Description"), { target: { value: "Tool use." } });
    await click(h, screen.getByRole("button", { name: "Add card" }));
    expect(h.client.mutations).toEqual([{ name: "addCard", args: { boardId, title: "Sea otters", description: "Tool use." } }]);
    expect(within(column("Research")).getByRole("button", { name: /^Sea otters/ })).toBeTruthy();
    expect(statusOf("Sea otters")).toBe("idle");
    expect(screen.queryByLabelText("Title")).toBeNull(); // the form closed
  });

  test("a card's tile shows its attempt from the card summary, running and settled, with no getRun query", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t, { maxAttempts: 2 });
    const first = await startRunning(d.t, cardId, d.providerHandle);
    await first.rt.complete("succeeded", []);
    await until(d.t, async () => (await getCard(d.t, cardId)).currentAttempt === 2);
    const second = (await getCard(d.t, cardId)).currentRunId!;
    await until(d.t, async () => (await getRun(d.t, second)).status === "running");
    // Without listActiveRuns (whose rows read their runs) nothing on the board has a reason to read a run.
    const only = ["getBoard", "listCards", "getCard", "listRuns", "getRun", "listEvents", "listArtifacts", "getArtifactUrl"] as const;
    const h = await show(d, { boardId, functions: functionsByName(only) });
    expect(cardButton("Write about otters").textContent).toBe("Write about otters running attempt 2 Live");
    await new SimRuntime(d.t, testProvider.latest()).complete("succeeded", []);
    await until(d.t, async () => (await getCard(d.t, cardId)).status === "blocked");
    await h.sync();
    expect(cardButton("Write about otters").textContent).toBe("Write about otters blocked attempt 2");
    expect(h.client.asked.some((q) => q.name === "listCards")).toBe(true);
    expect(h.client.asked.filter((q) => q.name === "getRun")).toEqual([]);
  });

  test("without a boardId: boards to pick from, and New board creates one and opens it", async () => {
    const d = await deployment();
    await makeBoard(d.t);
    const h = await show(d);
    expect(screen.getByRole("button", { name: "Pipeline" })).toBeTruthy();
    await click(h, screen.getByRole("button", { name: "New board" }));
    fireEvent.change(screen.getByLabelText("Board name"), { target: { value: "Essays" } });
    fireEvent.change(screen.getAllByLabelText("Stage name")[0], { target: { value: "Write" } });
    await click(h, screen.getByRole("button", { name: "Add stage" }));
    fireEvent.change(screen.getAllByLabelText("Stage name")[1], { target: { value: "Shipped" } });
    fireEvent.change(screen.getAllByLabelText("Kind")[1], { target: { value: "done" } });
    await click(h, screen.getByRole("button", { name: "Create board" }));
    expect(h.client.mutations.map((m) => m.name)).toEqual(["createBoard"]);
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Essays");
    expect(screen.getByRole("region", { name: "Stage Write" })).toBeTruthy();
    expect(screen.getByRole("region", { name: "Stage Shipped" }).getAttribute("data-kind")).toBe("done");
  });
});

describe("the run panel", () => {
  test("Run starts the card (queued), then Stop stops it; the panel closes on Escape", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t);
    const h = await show(d, { boardId });
    await click(h, cardButton("Write about otters"));
    expect(within(panel()).getByText("This card has not run yet.")).toBeTruthy();
    expect(within(panel()).queryByRole("button", { name: "Stop" })).toBeNull();
    await click(h, within(panel()).getByRole("button", { name: "Run" }));
    expect(h.client.mutations).toEqual([{ name: "runCard", args: { cardId } }]);
    expect((await getCard(d.t, cardId)).status).toBe("queued");
    expect(statusOf("Write about otters")).toBe("queued");
    // The new run is shown (the latest by default), with its sections.
    for (const heading of ["Console", "QA report", "Artifacts", "Transitions", "Usage", "Plan", "Transcript"]) {
      expect(within(panel()).getByRole("heading", { name: heading })).toBeTruthy();
    }
    expect(within(panel()).queryByRole("button", { name: "Run" })).toBeNull();
    await click(h, within(panel()).getByRole("button", { name: "Stop" }));
    expect(h.client.mutations.map((m) => m.name)).toEqual(["runCard", "stopCard"]);
    expect(["idle", "blocked"]).toContain((await getCard(d.t, cardId)).status);
    await h.act(() => fireEvent.keyDown(document, { key: "Escape" }));
    expect(screen.queryByRole("complementary", { name: "Run" })).toBeNull();
  });

  test("a component error is shown with its code: Run on a card that another client already started", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t);
    const h = await show(d, { boardId });
    await click(h, cardButton("Write about otters"));
    // Started elsewhere; this client has not seen it yet, so it still offers Run.
    const { runId } = await runCard(d.t, cardId, d.providerHandle);
    await h.act(() => fireEvent.click(within(panel()).getByRole("button", { name: "Run" })));
    await h.act(() => h.client.idle());
    const alert = within(panel()).getByRole("alert");
    expect(alert.querySelector("code")?.textContent).toBe("conflict");
    expect(alert.textContent).toContain(`conflict: card ${cardId} already has an active run ${runId}`);
    await h.settle();
    expect(statusOf("Write about otters")).toBe("queued");
  });

  test("Edit saves the title; Delete removes the card and closes the panel", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t);
    const h = await show(d, { boardId });
    await click(h, cardButton("Write about otters"));
    await click(h, within(panel()).getByRole("button", { name: "Edit" }));
    fireEvent.change(within(panel()).getByLabelText("Title"), { target: { value: "Otters, revised" } });
    await click(h, within(panel()).getByRole("button", { name: "Save" }));
    expect((await getCard(d.t, cardId)).title).toBe("Otters, revised");
    expect(cardButton("Otters, revised")).toBeTruthy();
    await click(h, within(panel()).getByRole("button", { name: "Delete" }));
    expect(h.client.mutations.map((m) => m.name)).toEqual(["updateCard", "deleteCard"]);
    expect(screen.queryByRole("complementary", { name: "Run" })).toBeNull();
  });

  test("Resume continues a card paused by its budget, raising the limit it stopped on", async () => {
    const d = await deployment();
    const { boardId, cardId, stageIds } = await makeBoard(d.t, { maxAttempts: 1 });
    await d.t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { limits: { maxAttempts: 1, maxDurationMs: 3_000 } } });
    const { runId, rt } = await startRunning(d.t, cardId, d.providerHandle);
    await advanceHeartbeating(d.t, rt, 2_500, 500, 250);
    await until(d.t, async () => (await getCard(d.t, cardId)).status === "paused", 5_000, 100);
    const paused = await getRun(d.t, runId);
    expect(paused.budget?.limit).toBe("maxDurationMs");
    const h = await show(d, { boardId });
    expect(statusOf("Write about otters")).toBe("paused");
    await click(h, cardButton("Write about otters"));
    expect(within(panel()).queryByRole("button", { name: "Run" })).toBeNull();
    await click(h, within(panel()).getByRole("button", { name: "Resume" }));
    // It stopped on its 3 s duration: the resume doubles how long it ran, at least to a minute.
    expect(h.client.mutations).toEqual([{ name: "resumeCard", args: { cardId, raise: { maxDurationMs: Math.max(2 * (paused.endedAt! - paused.startedAt!), 60_000) } } }]);
    expect(within(panel()).queryByRole("alert")).toBeNull();
    expect(statusOf("Write about otters")).toBe("queued");
  });

  test("a button whose function the app left out is not shown", async () => {
    const d = await deployment();
    const { boardId } = await makeBoard(d.t);
    const only = ["getBoard", "listCards", "getCard", "listRuns", "getRun", "listEvents", "listArtifacts", "getArtifactUrl", "runCard"] as const;
    const h = await show(d, { boardId, functions: functionsByName(only) });
    expect(screen.queryByRole("button", { name: "New card" })).toBeNull();
    await click(h, cardButton("Write about otters"));
    expect(within(panel()).getByRole("button", { name: "Run" })).toBeTruthy();
    for (const name of ["Edit", "Delete", "Stop"]) expect(within(panel()).queryByRole("button", { name })).toBeNull();
    expect(within(panel()).queryByRole("heading", { name: "Plan" })).toBeNull();
  });
});

describe("review, steering and the console of a real run", () => {
  async function reachReview(t: T, cardId: string, providerHandle: string) {
    const { runId, rt } = await startRunning(t, cardId, providerHandle);
    await rt.upload("report.md", "# Report\n\nOtters hold hands while they sleep.");
    await rt.complete("succeeded", ["report.md"]);
    await until(t, async () => (await getCard(t, cardId)).status === "awaiting_review");
    return runId;
  }

  test("Approve calls reviewRun with approved", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t, { requiresApproval: true });
    const runId = await reachReview(d.t, cardId, d.providerHandle);
    const h = await show(d, { boardId });
    expect(statusOf("Write about otters")).toBe("awaiting_review");
    await click(h, cardButton("Write about otters"));
    expect(within(panel()).getByRole("heading", { name: "Review" })).toBeTruthy();
    // The deliverable is previewed as rendered markdown, read from the artifact's URL, with a Download link.
    await h.act(() => vi.waitFor(() => within(panel()).getByRole("heading", { name: "Report" }), { timeout: 5_000, interval: 20 }));
    const preview = within(panel()).getByRole("region", { name: "Preview report.md" });
    expect(within(preview).getByText("Otters hold hands while they sleep.").tagName).toBe("P");
    expect(within(preview).getByRole("link", { name: "Download" }).getAttribute("download")).toBe("report.md");
    await click(h, within(panel()).getByRole("button", { name: "Approve" }));
    expect(h.client.mutations).toEqual([{ name: "reviewRun", args: { runId, decision: "approved" } }]);
    expect((await getRun(d.t, runId)).review?.state).toBe("approved");
  });

  test("Reject needs a note and sends it; the next attempt carries it", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t, { requiresApproval: true, maxAttempts: 2 });
    const runId = await reachReview(d.t, cardId, d.providerHandle);
    const h = await show(d, { boardId });
    await click(h, cardButton("Write about otters"));
    await click(h, within(panel()).getByRole("button", { name: "Reject" }));
    expect(within(panel()).getByText(/Review note is required/)).toBeTruthy();
    expect(h.client.mutations).toEqual([]);
    fireEvent.change(within(panel()).getByLabelText("Review note"), { target: { value: "cite your sources" } });
    await click(h, within(panel()).getByRole("button", { name: "Reject" }));
    expect(h.client.mutations).toEqual([{ name: "reviewRun", args: { runId, decision: "rejected", note: "cite your sources" } }]);
    expect((await getRun(d.t, runId)).review?.state).toBe("rejected");
    await until(d.t, async () => (await d.t.query(api.runs.listRuns, { cardId, paginationOpts: { numItems: 5, cursor: null } })).page.length === 2);
    await h.sync();
    const second = (await d.t.query(api.runs.listRuns, { cardId, paginationOpts: { numItems: 5, cursor: null } })).page[0];
    expect((await getRun(d.t, second.runId)).retryContext?.reviewerNotes).toEqual(["cite your sources"]);
    // The panel follows the latest run, and earlier ones stay selectable.
    const picker = within(panel()).getByLabelText("Attempt") as HTMLSelectElement;
    expect(picker.value).toBe(second.runId);
    expect([...picker.options].map((o) => o.value)).toEqual([second.runId, runId]);
  });

  test("the console lists a running run's events in seq order, marks a gap, and Send steers the agent", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t);
    const { runId, rt } = await startRunning(d.t, cardId, d.providerHandle);
    const events = [
      { seq: 0, kind: "status", text: "started" },
      { seq: 1, kind: "step", text: "I will count otters.", data: { step: 0, hasCode: true } },
      { seq: 2, kind: "code", text: "console.log(2 + 2)", data: { step: 0, lang: "js" } },
      { seq: 3, kind: "output", text: "4", data: { step: 0, ms: 3, bytes: 2, truncatedBytes: 0 } },
      { seq: 4, kind: "gap", level: "warn", text: "events 4–6 lost: queue full", data: { from: 4, to: 6, reason: "queue full" } },
      { seq: 7, kind: "status", text: "finished" },
    ];
    // Sent out of order: the console still lists them by seq.
    expect((await rt.post("events", { events: [...events.slice(3), ...events.slice(0, 3)].map((e) => ({ ...e, ts: 1 })) })).status).toBe(200);
    const h = await show(d, { boardId });
    expect(cardButton("Write about otters").textContent).toContain("Live");
    expect(cardButton("Write about otters").textContent).toContain("attempt 1");
    await click(h, cardButton("Write about otters"));
    const items = within(screen.getByRole("list", { name: "Console" })).getAllByRole("listitem");
    const seqs = items.map((li) => Number(li.getAttribute("data-seq")));
    expect(seqs.filter((s) => s < 1e9)).toEqual([0, 1, 2, 3, 4, 7]);
    const gap = items.find((li) => li.getAttribute("data-seq") === "4")!;
    expect(gap.textContent).toContain("Gap");
    expect(gap.textContent).toContain("events 4–6 lost");
    const code = items.find((li) => li.getAttribute("data-seq") === "2")!.querySelector("details");
    expect(code?.querySelector("code")?.textContent).toBe("console.log(2 + 2)");
    expect(items.find((li) => li.getAttribute("data-seq") === "3")!.querySelector("details pre")?.textContent).toBe("4");

    fireEvent.change(within(panel()).getByLabelText("Message to the agent"), { target: { value: "Focus on sea otters." } });
    await click(h, within(panel()).getByRole("button", { name: "Send" }));
    expect(h.client.mutations).toEqual([{ name: "sendMessage", args: { runId, text: "Focus on sea otters." } }]);
    expect((within(panel()).getByLabelText("Message to the agent") as HTMLTextAreaElement).value).toBe("");
  });

  test("Live sandboxes lists the running run with its session and sandbox; Kill stops the card", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t);
    const { runId } = await startRunning(d.t, cardId, d.providerHandle);
    const run = await getRun(d.t, runId);
    const h = await show(d, { boardId });
    const live = screen.getByRole("heading", { name: "Live sandboxes" }).closest("section")!;
    expect(live.textContent).toContain("Write about otters");
    expect(live.textContent).toContain(`sandbox ${run.session!.sandboxId}`);
    await click(h, within(live).getByRole("button", { name: "Kill" }));
    expect(h.client.mutations.map((m) => m.name)).toEqual(["stopCard"]);
    expect((await getRun(d.t, runId)).status).not.toBe("running");
  });

  test("with hashRoute the open card and run are in location.hash, and a fresh mount reopens them", async () => {
    const d = await deployment();
    const { boardId, cardId } = await makeBoard(d.t);
    const { runId } = await startRunning(d.t, cardId, d.providerHandle);
    const h = await show(d, { hashRoute: true });
    await click(h, screen.getByRole("button", { name: "Pipeline" }));
    await click(h, cardButton("Write about otters"));
    expect(new URLSearchParams(location.hash.slice(1)).get("card")).toBe(cardId);
    h.unmount();
    // A reload: the same hash, a new client and a new tree.
    const again = await show(d, { hashRoute: true });
    expect(within(panel()).getByRole("heading", { level: 2 }).textContent).toBe("Write about otters");
    expect(within(panel()).getByRole("heading", { name: "Console" })).toBeTruthy();
    expect(new URLSearchParams(location.hash.slice(1)).get("board")).toBe(boardId);
    again.unmount();
    location.hash = `#board=${boardId}&card=${cardId}&run=${runId}`;
    await show(d, { hashRoute: true });
    expect(within(panel()).getByRole("list", { name: "Console" })).toBeTruthy();
  });
});
