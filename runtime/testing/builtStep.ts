/** Runs one step of agent code in a built executor (`worker.js` of a runtime bundle), for bundle tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Executor, type StepResult } from "../executor.js";

export async function runBuiltStep(
  workerJs: string,
  allowedKsas: string[],
  code: string,
  opts: { workspace?: string; stageName?: string } = {},
): Promise<StepResult & { warnings: string[] }> {
  const ws = opts.workspace ?? mkdtempSync(join(tmpdir(), "lakitu-ws-"));
  const warnings: string[] = [];
  const ex = new Executor({
    workspace: ws,
    outputDir: join(ws, "out"),
    allowedKsas,
    stageName: opts.stageName ?? "Build test",
    stepTimeoutMs: 60_000,
    maxOutputBytes: 64 * 1024,
    workerPath: workerJs,
    prewarm: false,
    gateway: async (ksa, fn) => {
      throw new Error(`no gateway in this test (${ksa}.${fn})`);
    },
    onWarning: (w) => warnings.push(w),
  });
  try {
    return { ...(await ex.run(code, { step: 1 })), warnings };
  } finally {
    await ex.close();
    if (!opts.workspace) rmSync(ws, { recursive: true, force: true });
  }
}
