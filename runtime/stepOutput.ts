/**
 * One step's console output from a reused executor process. The process outlives the step, so its
 * stdout and stderr pipes do not end with it; instead the executor writes a mark (a random string the
 * runtime chose for this step) on both after the step's output. Bytes before the mark are the step's
 * (kept by an OutputCollector, capped); the mark and anything after it are dropped.
 */
import { OutputCollector } from "./outputBuffer.js";

class MarkScanner {
  private held: Buffer = Buffer.alloc(0);
  seen = false;

  constructor(
    private readonly mark: Buffer,
    private readonly out: OutputCollector,
  ) {}

  /** Returns true when this chunk completed the mark. */
  write(bytes: Buffer): boolean {
    if (this.seen) return false;
    const buf = this.held.length ? Buffer.concat([this.held, bytes]) : bytes;
    const at = buf.indexOf(this.mark);
    if (at >= 0) {
      this.out.write(buf.subarray(0, at));
      this.held = Buffer.alloc(0);
      this.seen = true;
      return true;
    }
    // Hold back a tail that could be the start of the mark split across chunks.
    let keep = Math.min(this.mark.length - 1, buf.length);
    while (keep > 0 && !buf.subarray(buf.length - keep).equals(this.mark.subarray(0, keep))) keep--;
    this.out.write(buf.subarray(0, buf.length - keep));
    this.held = Buffer.from(buf.subarray(buf.length - keep));
    return false;
  }

  /** Without the mark (the process was killed): what was held back was output after all. */
  flush(): void {
    if (!this.seen && this.held.length) this.out.write(this.held);
    this.held = Buffer.alloc(0);
  }
}

export class StepOutput {
  private readonly collector: OutputCollector;
  private readonly streams: MarkScanner[];
  private resolveMarked!: () => void;
  /** Resolves when the mark arrived on every pipe: the step's output is complete. */
  readonly marked: Promise<void>;

  constructor(capacity: number, mark: string, pipes = 2) {
    this.collector = new OutputCollector(capacity);
    const bytes = Buffer.from(mark, "utf8");
    this.streams = Array.from({ length: pipes }, () => new MarkScanner(bytes, this.collector));
    this.marked = new Promise((r) => (this.resolveMarked = r));
  }

  write(pipe: number, bytes: Buffer): void {
    const s = this.streams[pipe];
    if (s?.write(bytes) && this.streams.every((x) => x.seen)) this.resolveMarked();
  }

  read(): ReturnType<OutputCollector["read"]> {
    for (const s of this.streams) s.flush();
    return this.collector.read();
  }
}
