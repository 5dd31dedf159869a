/** The commit clock: one version per tick in which writes happened, plus one trailing version. */
import { afterEach, expect, test, vi } from "vitest";
import type { CountSnapshot } from "../embedded/counters.js";
import { CommitClock } from "./updates.js";

afterEach(() => vi.useRealTimers());

test("writes between two ticks make one version; a quiet tick after them makes one more; then nothing", () => {
  vi.useFakeTimers();
  const counts: CountSnapshot = { queries: 0, mutations: 0, actions: 0, http: 0, documentsWritten: 0, byFunction: {} };
  const clock = new CommitClock({ snapshot: () => ({ ...counts }) }, 50);
  const seen: number[] = [];
  clock.subscribe((v) => seen.push(v));
  vi.advanceTimersByTime(200);
  expect(seen).toEqual([]);
  counts.mutations += 3;
  counts.documentsWritten += 7;
  vi.advanceTimersByTime(50);
  expect(seen).toEqual([1]);
  vi.advanceTimersByTime(50);
  expect(seen).toEqual([1, 2]);
  vi.advanceTimersByTime(500);
  expect(seen).toEqual([1, 2]);
  // A mutation the server ran is announced at the next tick even if the counts did not move.
  clock.bump();
  clock.bump();
  vi.advanceTimersByTime(50);
  expect(seen).toEqual([1, 2, 3]);
  expect(clock.current).toBe(3);
  clock.close();
  counts.http++;
  vi.advanceTimersByTime(500);
  expect(seen).toEqual([1, 2, 3]);
});
