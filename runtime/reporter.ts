/**
 * The run's event stream and heartbeat.
 *
 * Events get a monotonic `seq` from 0 and are sent in order, one batch in flight at a time, always from
 * the head of the queue; a batch leaves the queue only once the component acknowledged it. A failed or
 * timed-out batch is resent as is: the component stores by `(run, seq)`, so a resend never duplicates
 * and nothing is dropped short of the run being over (401 / 409 stale), an event the component
 * rejects on its own (reported to `onError`, not retried forever), or a queue that overflows while the
 * component is unreachable. What is dropped leaves a `gap` event in its place (`data: { from, to,
 * reason }`, at the first lost seq), so the log shows the hole instead of silence.
 */
import { LakituHttpError, RunOverError, type EventInput, type LakituClient } from "./client.js";
import { capText, redactor } from "./redact.js";

export type EventLevel = NonNullable<EventInput["level"]>;
export type EventKind = "status" | "step" | "code" | "output" | "error" | "steer" | "upload" | (string & {});

export type ReporterOptions = {
  /** Secrets removed from every text and data value (the session token). */
  secrets: readonly string[];
  /** Flush this long after the first unsent event. Default 200 ms. */
  flushMs?: number;
  /**
   * Flush at once when this many events wait; also the largest batch. Default 100, the component's default
   * `maxEventBatch` (a deployment configured lower answers 413 and the batch is halved until it fits).
   */
  batchSize?: number;
  /** Event text cap in characters. Default 8000. */
  maxTextChars?: number;
  /** Event data cap, in characters of JSON. Default 4000. */
  maxDataChars?: number;
  /** Failures worth knowing about locally (the stream itself cannot carry them). */
  onError?: (message: string) => void;
  /** Events kept unsent at most; past it new events are dropped into one gap marker. Default 10000. */
  maxQueued?: number;
};

/** A stretch of seqs the reporter gave up on. */
export type EventGap = { from: number; to: number; reason: string };

const MAX_BATCH_CHARS = 512 * 1024;

type Queued = { event: EventInput; chars: number; gap?: true };

export class EventReporter {
  private nextSeq = 0;
  private readonly queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private batchSize: number;
  private readonly flushMs: number;
  private readonly maxTextChars: number;
  private readonly maxDataChars: number;
  private readonly redact: (text: string) => string;
  private readonly maxQueued: number;
  /** Events dropped because the queue was full, not yet replaced by their marker. */
  private overflow: EventGap | undefined;

  constructor(
    private readonly client: LakituClient,
    private readonly options: ReporterOptions,
  ) {
    this.flushMs = options.flushMs ?? 200;
    this.batchSize = Math.max(1, Math.min(options.batchSize ?? 100, 100));
    this.maxTextChars = options.maxTextChars ?? 8000;
    this.maxDataChars = options.maxDataChars ?? 4000;
    this.redact = redactor(options.secrets);
    this.maxQueued = Math.max(2, options.maxQueued ?? 10_000);
  }

  /** Events not yet acknowledged by the component. */
  get pending(): number {
    return this.queue.length;
  }
  /** The seq the next event will get. */
  get seq(): number {
    return this.nextSeq;
  }

  /** Queues one event; returns its seq. Text is redacted and capped; data is redacted and bounded. */
  emit(kind: EventKind, text?: string, opts: { level?: EventLevel; data?: unknown } = {}): number {
    const seq = this.nextSeq++;
    if (this.stopped) return seq;
    this.queueOverflowMarker();
    if (this.queue.length >= this.maxQueued) {
      this.overflow = { from: this.overflow?.from ?? seq, to: seq, reason: "the runtime's event queue was full (the component was unreachable)" };
      this.options.onError?.(`event ${seq} (${kind}) dropped: the event queue is full`);
      return seq;
    }
    const event: EventInput = { seq, kind: this.redact(kind).slice(0, 64) || "event", ts: Date.now() };
    if (opts.level) event.level = opts.level;
    if (text !== undefined) event.text = capText(this.redact(text), this.maxTextChars);
    if (opts.data !== undefined) event.data = this.boundData(opts.data);
    this.queue.push({ event, chars: JSON.stringify(event).length });
    if (this.queue.length >= this.batchSize) void this.pump();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.pump();
      }, this.flushMs);
      this.timer.unref();
    }
    return seq;
  }

  /**
   * Sends everything queued. Resolves when the queue is empty, the run is over, sending failed past
   * the give-up time, or `timeoutMs` passed (events stay queued in the last two cases).
   */
  async flush(timeoutMs?: number): Promise<void> {
    const until = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    this.queueOverflowMarker();
    while (this.queue.length > 0 && !this.stopped) {
      const before = this.queue[0].event.seq;
      const round = this.pump();
      if (until === Infinity) await round;
      else {
        const left = until - Date.now();
        if (left <= 0) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([round, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
      }
      // No progress in a whole round means sending gave up; do not spin.
      if (this.queue.length > 0 && this.queue[0].event.seq === before && !this.pumping) return;
    }
  }

  /** Stops sending (the run is over for us); queued events are dropped. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pumping ??= this.drain().finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.takeBatch();
      try {
        // Events are worth a little time past the deadline: the last ones say why the run ended.
        const giveUpAt = Math.max(this.client.getDeadline(), Date.now() + 15_000);
        await this.client.events(batch, { giveUpAt });
        this.queue.splice(0, batch.length);
        this.queueOverflowMarker();
      } catch (e) {
        if (e instanceof RunOverError) {
          this.stop();
          return;
        }
        if (e instanceof LakituHttpError && e.code === "quota_exceeded") {
          // The run's event quota (configure maxRunEvents) is used up: no later event can be stored, and
          // the component already logged why. Sending each one to be refused would only cost requests.
          this.options.onError?.(`events stopped: ${e.message}`);
          this.stop();
          return;
        }
        if (e instanceof LakituHttpError && e.status === 413 && batch.length > 1) {
          // The deployment's batch limit is lower than ours: halve and resend.
          this.batchSize = Math.max(1, Math.floor(batch.length / 2));
          continue;
        }
        if (e instanceof LakituHttpError) {
          // The component refuses this content; resending it cannot succeed. Drop only the first event
          // when a batch of one, otherwise retry smaller batches to find it.
          if (batch.length > 1) {
            this.batchSize = 1;
            continue;
          }
          const refused = this.queue.shift()!;
          this.options.onError?.(`event ${batch[0].seq} (${batch[0].kind}) was refused: ${e.message}`);
          // The refused event's seq carries a marker instead (a refused marker is dropped: no loop).
          if (!refused.gap) this.queue.unshift(gapEntry({ from: refused.event.seq, to: refused.event.seq, reason: `refused by the component: ${capText(this.redact(e.message), 300)}` }));
          continue;
        }
        this.options.onError?.(`events ${batch[0].seq}..${batch[batch.length - 1].seq} not sent yet: ${(e as Error).message}`);
        return;
      }
    }
  }

  /** Puts the marker for overflowed events in the queue once there is room again. */
  private queueOverflowMarker(): void {
    if (!this.overflow || this.queue.length >= this.maxQueued) return;
    this.queue.push(gapEntry(this.overflow));
    this.overflow = undefined;
  }

  private takeBatch(): EventInput[] {
    const batch: EventInput[] = [];
    let chars = 0;
    for (const q of this.queue) {
      if (batch.length >= this.batchSize || (batch.length > 0 && chars + q.chars > MAX_BATCH_CHARS)) break;
      batch.push(q.event);
      chars += q.chars;
    }
    return batch;
  }

  private boundData(data: unknown): unknown {
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch {
      json = undefined;
    }
    if (json === undefined) return { unserializable: String(data).slice(0, 200) };
    json = this.redact(json);
    if (json.length > this.maxDataChars) return { truncated: true, chars: json.length, preview: json.slice(0, 200) };
    return JSON.parse(json) as unknown;
  }
}

function gapEntry(g: EventGap): Queued {
  const range = g.from === g.to ? `event ${g.from} was` : `events ${g.from}..${g.to} were`;
  const event: EventInput = { seq: g.from, kind: "gap", level: "warn", text: `${range} lost: ${g.reason}`, data: { from: g.from, to: g.to, reason: g.reason }, ts: Date.now() };
  return { event, chars: JSON.stringify(event).length, gap: true };
}

export type Heartbeat = { stop(): void };

/**
 * Heartbeats every `intervalMs` (the first one at once). Calls `onStop` once when the run is no longer
 * ours: the component says its status is not `provisioning`/`running`, or the token stopped working.
 * Transient failures are ignored; the next beat tries again.
 */
export function startHeartbeat(
  client: LakituClient,
  opts: { intervalMs: number; onStop: (reason: string) => void; onDeadline?: (deadline: number) => void },
): Heartbeat {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    try {
      const r = await client.heartbeat({ giveUpAt: Date.now() + opts.intervalMs, attemptTimeoutMs: Math.min(opts.intervalMs, 10_000) });
      if (stopped) return;
      if (typeof r.deadline === "number") opts.onDeadline?.(r.deadline);
      if (r.status !== "provisioning" && r.status !== "running") {
        stopped = true;
        opts.onStop(`the run is ${r.status}`);
        return;
      }
    } catch (e) {
      if (stopped) return;
      if (e instanceof RunOverError) {
        stopped = true;
        opts.onStop(e.message);
        return;
      }
    }
    if (!stopped) {
      timer = setTimeout(beat, opts.intervalMs);
      timer.unref();
    }
  };
  void beat();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
