/**
 * The runtime's start: from spawning `node main.js` to the first request its component receives (over
 * the unix socket, as in a local sandbox; the answer is 401, so the runtime then exits as "over").
 * Measures the bundle built from this checkout; with LAKITU_BENCH_BASELINE_RUNTIME=<dir> (a copy of an
 * older build's output folder, holding its main.js) it measures that one alternately in the same run,
 * for the baseline column.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRuntime } from "../scripts/build-runtime.js";
import { median, ms, p95, type Row } from "./stats.js";

export async function runtimeStart(runs = 20): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "lakitu-start-"));
  const socket = join(dir, "component.sock");
  let onRequest: (() => void) | undefined;
  const server = createServer((req, res) => {
    onRequest?.();
    onRequest = undefined;
    req.resume();
    res.writeHead(401, { "content-type": "application/json" }).end('{"ok":false,"error":{"code":"unauthorized","message":"bench"}}');
  });
  try {
    await buildRuntime({ outdir: join(dir, "dist") });
    await new Promise<void>((r) => server.listen(socket, r));
    const once = async (main: string): Promise<number> => {
      const first = new Promise<number>((r) => (onRequest = () => r(performance.now())));
      const t0 = performance.now();
      // The sandbox's environment: no NODE_OPTIONS or CA bundles from this process.
      const child = spawn(process.execPath, [main], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          LAKITU_URL: "http://component.invalid/lakitu",
          LAKITU_COMPONENT_SOCKET: socket,
          LAKITU_TOKEN: `lk_bench_${"x".repeat(32)}`,
          LAKITU_GENERATION: "1",
          LAKITU_RUN_ID: "bench",
          LAKITU_SESSION_ID: "bench",
        },
        stdio: "ignore",
      });
      const exited = new Promise((r) => child.on("exit", r));
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const took = await Promise.race([first.then((t) => t - t0), exited.then(() => NaN)]);
      await exited;
      clearTimeout(timer);
      if (!Number.isFinite(took)) throw new Error(`${main} exited without a request`);
      return took;
    };
    const baselineDir = process.env.LAKITU_BENCH_BASELINE_RUNTIME;
    const ours: number[] = [];
    const base: number[] = [];
    await once(join(dir, "dist", "main.js")); // warm-up (page cache), not counted
    for (let i = 0; i < runs; i++) {
      ours.push(await once(join(dir, "dist", "main.js")));
      if (baselineDir) base.push(await once(join(baselineDir, "main.js")));
    }
    const fmt = (xs: number[]) => `${ms(median(xs))} / ${ms(p95(xs))}`;
    return [
      {
        section: "runtime",
        metric: `runtime start: process start → first request (median / p95, ${runs}x${baselineDir ? "; baseline: LAKITU_BENCH_BASELINE_RUNTIME" : ""})`,
        value: fmt(ours),
        ...(baselineDir ? { baseline: fmt(base), ratio: `${(median(ours) / median(base)).toFixed(2)}x` } : {}),
      },
    ];
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
