/**
 * Per-step execution overhead of the production runtime bundle: a trivial step, warm and back to back,
 * with the executor process reused across steps (ours) and with a fresh process per step (`reuse:
 * false`, the behaviour before reuse: the baseline column), measured alternately in the same run.
 * Back-to-back figures are printed as their modes (see `modes`), and against the target: back to back
 * within 2x of warm. Then the runtime's start (runtimeStart.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildRuntime } from "../scripts/build-runtime.js";
import type { Executor as ExecutorClass } from "../runtime/executor.js";
import { runtimeStart } from "./runtimeStart.js";
import { formatModes, median, modes, ms, p95, type Row } from "./stats.js";

/** Back to back may cost at most this many times a warm step. */
const TARGET_RATIO = 2;

export async function stepOverhead(runs = 50): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "lakitu-bench-"));
  try {
    await buildRuntime({ outdir: dir, entries: { executor: "runtime/executor.ts", worker: "runtime/worker.ts" } });
    const { Executor } = (await import(pathToFileURL(join(dir, "executor.js")).href)) as { Executor: typeof ExecutorClass };
    const make = (reuse: boolean) =>
      new Executor({
        workspace: dir,
        outputDir: join(dir, "out"),
        allowedKsas: [],
        stageName: "bench",
        stepTimeoutMs: 10_000,
        maxOutputBytes: 16_384,
        gateway: async () => null,
        prewarm: true,
        reuse,
      });
    const step = async (ex: ExecutorClass, i: number) => {
      const t = performance.now();
      const r = await ex.run("console.log(1)", { step: i });
      const took = performance.now() - t;
      if (r.output !== "1\n") throw new Error(`step ${i} printed ${JSON.stringify(r.output)}`);
      return took;
    };
    const measure = async (reuse: boolean) => {
      const ex = make(reuse);
      const warm: number[] = [];
      const back: number[] = [];
      try {
        for (let i = 0; i < runs; i++) {
          await ex.warm(); // as in the agent loop: a process is booted while the model thinks
          warm.push(await step(ex, i));
        }
        await ex.warm();
        for (let i = 0; i < runs; i++) back.push(await step(ex, runs + i));
        return { warm, back, boots: ex.stats.boots };
      } finally {
        await ex.close();
      }
    };
    // Alternate, so that both see the same load on a shared machine.
    const ours = { warm: [] as number[], back: [] as number[], boots: 0 };
    const base = { warm: [] as number[], back: [] as number[], boots: 0 };
    for (let round = 0; round < 2; round++) {
      for (const [into, reuse] of [[ours, true], [base, false]] as const) {
        const m = await measure(reuse);
        into.warm.push(...m.warm);
        into.back.push(...m.back);
        into.boots += m.boots;
      }
    }
    const ratio = (x: { warm: number[]; back: number[] }) => median(x.back) / median(x.warm);
    const verdict = (r: number) => `${r.toFixed(1)}x of warm (target ≤ ${TARGET_RATIO}x: ${r <= TARGET_RATIO ? "met" : "missed"})`;
    const n = ours.warm.length;
    return [
      {
        section: "agent step",
        metric: `execution overhead, executor booted before the step (median / p95, ${n} steps; baseline: a fresh process per step)`,
        value: `${ms(median(ours.warm))} / ${ms(p95(ours.warm))}`,
        baseline: `${ms(median(base.warm))} / ${ms(p95(base.warm))}`,
      },
      {
        section: "agent step",
        metric: "back to back: modes (median, share of steps)",
        value: formatModes(modes(ours.back)),
        baseline: formatModes(modes(base.back)),
      },
      { section: "agent step", metric: "back to back (p95)", value: ms(p95(ours.back)), baseline: ms(p95(base.back)) },
      { section: "agent step", metric: "back to back median / warm median", value: verdict(ratio(ours)), baseline: verdict(ratio(base)) },
      { section: "agent step", metric: `executor processes booted for ${2 * n} steps`, value: String(ours.boots), baseline: String(base.boots) },
      ...(await runtimeStart()),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
