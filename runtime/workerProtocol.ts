/**
 * The executor protocol: JSON lines between the runtime (parent) and an executor process (child).
 * Parent → child on the child's stdin; child → parent on the child's fd 3. The child runs agent code,
 * so everything it sends is untrusted: the parent parses each line with `parseFromWorker`, caps its
 * length, and checks every KSA request against the stage's policy before forwarding it.
 */
import { z } from "zod";

/** File descriptor of the child → parent channel in the executor process. */
export const TO_PARENT_FD = 3;
/** A longer line from the child ends the step: nothing legitimate is this big. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export type WorkerInit = {
  /** Absolute paths. */
  workspace: string;
  outputDir: string;
  allowedKsas: string[];
  stageName: string;
  /**
   * URL of a module exporting `createKsaModule` and `BUILTIN_KSAS` to use instead of `ksa/index.ts`
   * (tests pass a fake). Unset in production.
   */
  ksaModule?: string;
};

export type SerializedError = { name: string; message: string; stack?: string };

export type ToWorker =
  /** `mark`: written by the executor on stdout and stderr after the step's output, so the runtime knows it has all of it. */
  | { type: "run"; code: string; filename: string; mark: string }
  | { type: "ksa:result"; id: number; ok: true; value: unknown }
  | { type: "ksa:result"; id: number; ok: false; message: string };

const vError = z.object({ name: z.string().max(1000), message: z.string().max(64 * 1024), stack: z.string().max(64 * 1024).optional() });

const vFromWorker = z.discriminatedUnion("type", [
  /** Booted; `ksaError` says why `lakitu/ksa` is unavailable, if it is. `ksaSkipped` lists allowed names this runtime does not know. */
  z.object({ type: z.literal("ready"), ksaError: z.string().max(4096).optional(), ksaSkipped: z.array(z.string().max(200)).max(200).optional() }),
  z.object({ type: z.literal("ksa"), id: z.number().int().nonnegative(), ksa: z.string().max(200), fn: z.string().max(200), args: z.unknown() }),
  /**
   * The step settled. `phase` says whether the code failed to compile or failed while running.
   * `leftover` names what the step left running (then the process is not reused); unset: nothing.
   */
  z.object({ type: z.literal("done"), error: vError.optional(), phase: z.enum(["compile", "run"]).optional(), leftover: z.string().max(500).optional() }),
]);

export type FromWorker = z.infer<typeof vFromWorker>;

/** One line from the child, or why it is not a valid message. */
export function parseFromWorker(line: string): { ok: true; message: FromWorker } | { ok: false; problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, problem: "not JSON" };
  }
  const parsed = vFromWorker.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: parsed.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; ") };
  return { ok: true, message: parsed.data };
}

/**
 * Splits a byte stream into lines, calling `onLine` for each. A line longer than `maxBytes` calls
 * `onOverflow` once and stops the splitter (the step is then ended by the caller).
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private size = 0;
  private dead = false;
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  push(data: Buffer): void {
    let rest = data;
    while (!this.dead) {
      const nl = rest.indexOf(10);
      if (nl < 0) {
        this.chunks.push(rest);
        this.size += rest.length;
        if (this.size > this.maxBytes) this.overflow();
        return;
      }
      const part = rest.subarray(0, nl);
      if (this.size + part.length > this.maxBytes) return this.overflow();
      const line = Buffer.concat([...this.chunks, part]).toString("utf8");
      this.chunks = [];
      this.size = 0;
      rest = rest.subarray(nl + 1);
      if (line.length > 0) this.onLine(line);
    }
  }

  private overflow(): void {
    this.dead = true;
    this.chunks = [];
    this.onOverflow();
  }
}
