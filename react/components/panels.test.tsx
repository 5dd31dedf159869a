/** The presentational panels on their own: props in, what a person sees out. */
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { ConvexError } from "convex/values";
import { afterEach, describe, expect, test, vi } from "vitest";
import { Board } from "./Board.js";
import { ErrorNote, errorInfo } from "./ErrorNote.js";
import { QaReport } from "./QaReport.js";
import { RunConsole } from "./RunConsole.js";
import { UsagePanel } from "./UsagePanel.js";

afterEach(cleanup);

describe("RunConsole", () => {
  test("lists events by seq whatever order they come in, marks a gap, and folds code and output", () => {
    const events = [
      { seq: 1_000_000_001, kind: "budget_exceeded", level: "warn" as const, text: "maxSteps reached" },
      { seq: 5, kind: "status", text: "finished" },
      { seq: 2, kind: "gap", level: "warn" as const, text: "events 2–4 lost: queue full", data: { from: 2, to: 4 } },
      { seq: 1, kind: "output", text: "42", data: { step: 0, ms: 7 } },
      { seq: 0, kind: "code", text: "return 6 * 7", data: { step: 0 } },
    ];
    render(<RunConsole events={events} status="live" />);
    const items = within(screen.getByRole("list", { name: "Console" })).getAllByRole("listitem");
    expect(items.map((li) => li.getAttribute("data-seq"))).toEqual(["0", "1", "2", "5", "1000000001"]);
    expect(items[2].textContent).toBe("Gap: events 2–4 lost: queue full");
    expect(items[0].querySelector("details summary")?.textContent).toBe("Code of step 0");
    expect(items[0].querySelector("details")?.hasAttribute("open")).toBe(false);
    expect(items[1].querySelector("details summary")?.textContent).toBe("Output of step 0 · 7 ms");
    expect(items[4].getAttribute("class")).toContain("lk-level-warn");
    cleanup();
    render(<RunConsole events={[{ seq: 4, kind: "gap", data: { from: 4, to: 9 } }]} status="waiting" missing={{ from: 10, to: 11 }} />);
    expect(screen.getByText("Gap:").parentElement?.textContent).toBe("Gap: events 4–9 were lost");
    expect(screen.getByText("Waiting for events 10–11…")).toBeTruthy();
  });
});

describe("ErrorNote", () => {
  test("shows a ConvexError's code, then its message and path, in role=alert", () => {
    const onDismiss = vi.fn();
    render(<ErrorNote error={new ConvexError({ code: "invalid_argument", message: "title must not be empty", path: "title" })} onDismiss={onDismiss} />);
    const alert = screen.getByRole("alert");
    expect(alert.firstElementChild?.tagName).toBe("CODE");
    expect(alert.textContent).toBe("invalid_argument: title must not be empty (at title)Dismiss");
    fireEvent.click(within(alert).getByRole("button", { name: "Dismiss" }));
    expect(onDismiss).toHaveBeenCalledOnce();
    expect(errorInfo(new Error("socket closed"))).toEqual({ code: "error", message: "socket closed" });
    expect(errorInfo({ data: JSON.stringify({ code: "not_found", message: "no run r1" }) })).toEqual({ code: "not_found", message: "no run r1" });
  });
});

test("Board: a running card has a Live badge and its attempt; columns hold their own cards", () => {
  const card = (cardId: string, stageId: string, status: "idle" | "running") => ({ cardId, boardId: "b", stageId, title: `Card ${cardId}`, status, createdAt: 0 });
  const open = vi.fn();
  render(
    <Board
      stages={[
        { stageId: "s1", name: "Research", kind: "agent" },
        { stageId: "s2", name: "Done", kind: "done" },
      ]}
      cards={[card("a", "s1", "running"), card("b", "s1", "idle"), card("c", "s2", "idle"), card("x", "gone", "idle")]}
      attempts={{ a: 2 }}
      onOpenCard={open}
    />,
  );
  const research = screen.getByRole("region", { name: "Stage Research" });
  const running = within(research).getByRole("button", { name: /^Card a/ });
  expect(running.textContent).toBe("Card a running attempt 2 Live");
  expect(running.querySelector("[data-status]")?.textContent).toBe("running");
  expect(within(research).getByRole("button", { name: /^Card b/ }).textContent).not.toContain("Live");
  expect(within(screen.getByRole("region", { name: "Stage Done" })).getAllByRole("button").map((b) => b.textContent)).toEqual(["Card c idle"]);
  expect(screen.queryByRole("button", { name: /^Card x/ })).toBeNull();
  fireEvent.click(running);
  expect(open).toHaveBeenCalledWith("a");
});

test("QaReport lists each check with its result and reason; UsagePanel shows tokens, cost, steps and sandbox seconds", () => {
  render(
    <QaReport
      qa={{
        ok: false,
        summary: "1 of 2 checks failed",
        checks: [
          { deliverable: "report.md", check: "minWords", ok: true, reason: "120 words" },
          { deliverable: "report.md", check: "headings", ok: false, reason: "no heading Sources" },
        ],
        missing: ["data.csv"],
        failed: ["report.md"],
        produced: ["report.md"],
      }}
    />,
  );
  const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
  expect(rows.map((r) => within(r).getAllByRole("cell").map((c) => c.textContent))).toEqual([
    ["report.md", "minWords", "pass", "120 words"],
    ["report.md", "headings", "fail", "no heading Sources"],
  ]);
  expect(screen.getByText("Missing: data.csv")).toBeTruthy();
  cleanup();
  render(<UsagePanel run={{ inputTokens: 1200, outputTokens: 300, costUsd: 0.0123, steps: 4, sandboxSeconds: 61.4 }} />);
  const cells = within(screen.getByRole("table")).getAllByRole("row").slice(1).map((r) => r.textContent);
  expect(cells).toEqual(["Input tokens1,200", "Cached input tokens0", "Output tokens300", "Cost$0.0123", "Steps4", "Sandbox seconds61"]);
});
