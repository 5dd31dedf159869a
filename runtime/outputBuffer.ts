/**
 * A step's console output, captured in a SharedArrayBuffer the worker writes and the parent reads.
 * Shared memory (not messages) so the parent still has the output when it has to terminate a worker
 * stuck in `while (true) {}`, and so printing costs no message per line.
 *
 * Layout: Int32[0] = bytes held, Int32[1] = bytes seen (saturating), then `capacity` data bytes.
 * Only the head is kept: once full, later output is only counted.
 */
import { utf8Prefix } from "./redact.js";

const HEADER_BYTES = 8;
const MAX_INT32 = 2 ** 31 - 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createOutputBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** Worker side: appends text. Safe to call from synchronous code (console.log in a tight loop). */
export class OutputWriter {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private stored = 0;
  private seen = 0;
  private full = false;

  constructor(sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, 2);
    this.data = new Uint8Array(sab, HEADER_BYTES);
  }

  write(chunk: string | Uint8Array): void {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    this.seen = Math.min(MAX_INT32, this.seen + bytes.length);
    if (!this.full) {
      const n = utf8Prefix(bytes, this.data.length - this.stored);
      this.data.set(bytes.subarray(0, n), this.stored);
      this.stored += n;
      // Once a chunk did not fit, nothing more is stored: later, shorter chunks would make the head lie.
      if (n < bytes.length) this.full = true;
      Atomics.store(this.header, 0, this.stored);
    }
    Atomics.store(this.header, 1, this.seen);
  }
}

/** Parent side: the captured text, with `…[truncated N bytes]` when output exceeded the capacity. */
export function readOutput(sab: SharedArrayBuffer): { text: string; totalBytes: number; truncatedBytes: number } {
  const header = new Int32Array(sab, 0, 2);
  const data = new Uint8Array(sab, HEADER_BYTES);
  const held = Atomics.load(header, 0);
  const seen = Atomics.load(header, 1);
  const text = decoder.decode(data.slice(0, held));
  const truncatedBytes = Math.max(0, seen - held);
  return { text: truncatedBytes > 0 ? `${text}…[truncated ${truncatedBytes} bytes]` : text, totalBytes: seen, truncatedBytes };
}
