/**
 * Cold start of a local sandbox through the e2b SDK: `Sandbox.create` + the first
 * `commands.run("node -e 0")`, median and p95 over N runs, with bwrap and without isolation.
 *
 *   npx tsx sandbox/coldStartBench.ts [runs=20]
 */
import { Sandbox } from "e2b";
import { startSandboxHost, type IsolationMode } from "./host.js";

const runs = Number(process.argv[2] ?? 20);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

for (const isolation of ["bwrap", "none"] as IsolationMode[]) {
  const host = await startSandboxHost({ isolation, warn: () => {} });
  const opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
  // One warm-up (module loading, first connection) that is not counted.
  await (await Sandbox.create("lakitu", opts)).kill();
  const total: number[] = [];
  const create: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const sbx = await Sandbox.create("lakitu", opts);
    const t1 = performance.now();
    await sbx.commands.run("node -e 0");
    total.push(performance.now() - t0);
    create.push(t1 - t0);
    await sbx.kill();
  }
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `median ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms`;
  };
  console.log(`${isolation} (${host.isolation}; processes: ${host.processLimit}), ${runs} runs`);
  console.log(`  create + first run: ${stats(total)}`);
  console.log(`  create alone:       ${stats(create)}`);
  await host.close();
}
