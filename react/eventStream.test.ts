/**
 * The seq stream's rules on pages the component could return (or a client could replay): component
 * events beside runtime ones, stale pages, gap markers, a log that starts after 0.
 */
import { describe, expect, test } from "vitest";
import { COMPONENT_EVENT_SEQ_BASE as BASE } from "../convex/shared/defaults.js";
import { afterSeqOf, applyPage, emptyStream, type EventStream } from "./eventStream.js";

type Ev = { seq: number; kind: string; data?: unknown };
const log = (...seqs: number[]): Ev[] => seqs.map((seq) => ({ seq, kind: "log" }));
const page = (events: Ev[], isDone = true) => ({ page: events, isDone });
const seqs = (s: EventStream<Ev>) => [...s.runtime, ...s.component].map((e) => e.seq);

describe("applyPage", () => {
  test("component events follow the runtime's; runtime events that land later go before them", () => {
    let s = applyPage(emptyStream<Ev>("r"), "r", page([...log(0, 1), ...log(BASE)]));
    expect(seqs(s)).toEqual([0, 1, BASE]);
    expect(afterSeqOf(s)).toBe(1); // never a component seq: listEvents refuses afterSeq above 1e9
    // The subscription after seq 1 returns the component event again, with the runtime's last batch.
    s = applyPage(s, "r", page([...log(2, 3), ...log(BASE, BASE + 1)]));
    expect(seqs(s)).toEqual([0, 1, 2, 3, BASE, BASE + 1]);
    expect(afterSeqOf(s)).toBe(3);
  });

  test("a stale page, or the same page again, changes nothing and returns the same state", () => {
    const s = applyPage(emptyStream<Ev>("r"), "r", page(log(0, 1, 2, 3)));
    expect(applyPage(s, "r", page(log(0, 1)))).toBe(s);
    expect(applyPage(s, "r", page(log(0, 1, 2, 3)))).toBe(s);
    expect(applyPage(s, "other", page(log(4, 5)))).toBe(s);
  });

  test("events past a hole wait; unsorted pages are read in seq order", () => {
    let s = applyPage(emptyStream<Ev>("r"), "r", page(log(0)));
    s = applyPage(s, "r", page(log(5, 1, 4)));
    expect(seqs(s)).toEqual([0, 1]);
    expect(s.missing).toEqual({ from: 2, to: 3 });
    expect(s.caughtUp).toBe(false);
    s = applyPage(s, "r", page(log(4, 3, 2, 5)));
    expect(seqs(s)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.missing).toBeUndefined();
    expect(s.caughtUp).toBe(true);
  });

  test("a gap marker moves the expected seq past the stretch it covers; a bad `to` covers only itself", () => {
    let s = applyPage(emptyStream<Ev>("r"), "r", page([...log(0), { seq: 1, kind: "gap", data: { from: 1, to: 9 } }, ...log(10)]));
    expect(seqs(s)).toEqual([0, 1, 10]);
    s = applyPage(s, "r", page([{ seq: 11, kind: "gap", data: { to: "x" } }, ...log(13)]));
    expect(seqs(s)).toEqual([0, 1, 10, 11]);
    expect(s.missing).toEqual({ from: 12, to: 12 });
  });

  test("a log trimmed by retention starts at its first stored event; a full page is not caught up", () => {
    const s = applyPage(emptyStream<Ev>("r"), "r", page(log(40, 41), false));
    expect(seqs(s)).toEqual([40, 41]);
    expect(afterSeqOf(s)).toBe(41);
    expect(s.caughtUp).toBe(false);
  });
});
