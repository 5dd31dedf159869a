/**
 * A step's console output as the runtime collects it from the executor process's stdout and stderr
 * pipes. Only the head is kept: once `capacity` bytes are held, later output is only counted (and the
 * pipe keeps draining, so a chatty step never blocks on a full pipe).
 */
import { utf8Prefix } from "./redact.js";

const decoder = new TextDecoder();

export class OutputCollector {
  private readonly data: Uint8Array;
  private stored = 0;
  private seen = 0;
  private full = false;

  constructor(capacity: number) {
    this.data = new Uint8Array(capacity);
  }

  write(bytes: Uint8Array): void {
    this.seen += bytes.length;
    if (this.full) return;
    const n = utf8Prefix(bytes, this.data.length - this.stored);
    this.data.set(bytes.subarray(0, n), this.stored);
    this.stored += n;
    // Once a chunk did not fit, nothing more is stored: later, shorter chunks would make the head lie.
    if (n < bytes.length) this.full = true;
  }

  /** The captured text, with `…[truncated N bytes]` when output exceeded the capacity. */
  read(): { text: string; totalBytes: number; truncatedBytes: number } {
    const text = decoder.decode(this.data.subarray(0, this.stored));
    const truncatedBytes = this.seen - this.stored;
    return { text: truncatedBytes > 0 ? `${text}…[truncated ${truncatedBytes} bytes]` : text, totalBytes: this.seen, truncatedBytes };
  }
}
