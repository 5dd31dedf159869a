/**
 * The commit version `/api/updates` streams. convex-test has no commit hook, so the writes are seen
 * through the deployment's `FunctionCounter` (counters.ts): every mutation it runs (called, scheduled or
 * nested, in any component), every document a top-level mutation wrote and every HTTP request the
 * routes answered (uploads, runtime callbacks). A tick every `intervalMs` compares those figures; when
 * they moved (or the server ran a mutation), the version goes up once (coalescing what happened in
 * between), and once more on the next tick after they stop moving, so a write whose counts were taken just before its transaction
 * committed is still followed by a version the client re-reads after.
 */
import type { FunctionCounter } from "../embedded/counters.js";

export class CommitClock {
  private version = 0;
  private last = "";
  private moved = false;
  private pending = false;
  private readonly listeners = new Set<(version: number) => void>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly counters: Pick<FunctionCounter, "snapshot">,
    intervalMs = 50,
  ) {
    this.last = this.signature();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  get current(): number {
    return this.version;
  }

  /** Calls `listener` with each new version; returns the unsubscribe. */
  subscribe(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks for a new version at the next tick (the server calls it after a mutation it ran returned). */
  bump(): void {
    this.pending = true;
  }

  private announce(): void {
    this.version++;
    for (const l of [...this.listeners]) l(this.version);
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private tick(): void {
    const now = this.signature();
    if (now !== this.last || this.pending) {
      this.last = now;
      this.moved = true;
      this.pending = false;
      this.announce();
    } else if (this.moved) {
      this.moved = false;
      this.announce();
    }
  }

  private signature(): string {
    const s = this.counters.snapshot();
    return `${s.mutations}:${s.documentsWritten}:${s.http}:${s.actions}`;
  }
}
