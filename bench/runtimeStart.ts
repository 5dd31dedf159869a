/**
 * The runtime's start: from spawning `node main.js` to the first request its component receives (over
 * the unix socket, as in a local sandbox; the answer is 401, so the runtime then exits as "over").
 * Measures the bundle built from this checkout and, alternately in the same run, the one from before
 * the start-up work (baselineRuntime.ts), for the before column.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRuntime } from "../scripts/build-runtime.js";
import { baselineRuntime } from "./baselineRuntime.js";
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
  const baseline = await baselineRuntime();
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
    const ours: number[] = [];
    const base: number[] = [];
    const variants = [{ main: join(dir, "dist", "main.js"), out: ours }, ...(baseline.dir ? [{ main: join(baseline.dir, "main.js"), out: base }] : [])];
    for (const v of variants) await once(v.main); // warm-up (page cache), not counted
    for (let i = 0; i < runs; i++) {
      // Alternating which goes first, so drift in the machine's load falls on both alike.
      for (const v of i % 2 === 0 ? variants : [...variants].reverse()) v.out.push(await once(v.main));
    }
    const fmt = (xs: number[]) => `${ms(median(xs))} / ${ms(p95(xs))}`;
    return [
      {
        section: "runtime",
        metric: `runtime start: process start → first request (median / p95, ${runs}x; baseline: ${"why" in baseline ? baseline.why : `${baseline.label}, alternated`})`,
        value: fmt(ours),
        ...(baseline.dir ? { baseline: fmt(base), ratio: `${(median(ours) / median(base)).toFixed(2)}x (target ≤ 0.5x: ${median(ours) <= median(base) / 2 ? "met" : "missed"})` } : {}),
      },
    ];
  } finally {
    if (baseline.dir) await baseline.cleanup();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
