/** Per-step execution overhead of the production runtime bundle: a trivial step, warm and back to back. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildRuntime } from "../scripts/build-runtime.js";
import type { Executor as ExecutorClass } from "../runtime/executor.js";
import { median, ms, p95, type Row } from "./stats.js";

export async function stepOverhead(runs = 50): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "lakitu-bench-"));
  try {
    await buildRuntime({ outdir: dir, entries: { executor: "runtime/executor.ts", worker: "runtime/worker.ts" } });
    const { Executor } = (await import(pathToFileURL(join(dir, "executor.js")).href)) as { Executor: typeof ExecutorClass };
    const make = () =>
      new Executor({ workspace: dir, outputDir: join(dir, "out"), allowedKsas: [], stageName: "bench", stepTimeoutMs: 10_000, maxOutputBytes: 16_384, gateway: async () => null, prewarm: true });
    const ready = make();
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      await ready.warm(); // as in the agent loop: the executor process boots while the model thinks
      const t = performance.now();
      const r = await ready.run("console.log(1)", { step: i });
      warm.push(performance.now() - t);
      if (r.output !== "1\n") throw new Error(`step ${i} printed ${JSON.stringify(r.output)}`);
    }
    await ready.close();
    const tight = make();
    await tight.warm();
    const back: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await tight.run("console.log(1)", { step: i });
      back.push(performance.now() - t);
    }
    await tight.close();
    return [
      { section: "agent step", metric: `execution overhead, warm executor process (median, ${runs} steps)`, value: ms(median(warm)) },
      { section: "agent step", metric: "execution overhead, warm executor process (p95)", value: ms(p95(warm)) },
      { section: "agent step", metric: "back to back, executor process boot included (median / p95)", value: `${ms(median(back))} / ${ms(p95(back))}` },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
