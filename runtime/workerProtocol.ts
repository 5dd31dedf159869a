/** Messages between the executor (parent thread) and a step worker. Types only. */

export type WorkerInit = {
  /** Console capture, see outputBuffer.ts. */
  output: SharedArrayBuffer;
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
  | { type: "run"; code: string; filename: string }
  | { type: "ksa:result"; id: number; ok: true; value: unknown }
  | { type: "ksa:result"; id: number; ok: false; message: string };

export type FromWorker =
  /** Booted; `ksaError` says why `lakitu/ksa` is unavailable, if it is. `ksaSkipped` lists allowed names this runtime does not know. */
  | { type: "ready"; ksaError?: string; ksaSkipped?: string[] }
  | { type: "ksa"; id: number; ksa: string; fn: string; args: unknown }
  /** The step settled. `phase` says whether the code failed to compile or failed while running. */
  | { type: "done"; error?: SerializedError; phase?: "compile" | "run" };
