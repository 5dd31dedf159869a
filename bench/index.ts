/**
 * `npm run bench`: the measurements, printed as a table and written to bench-results/latest.json.
 *
 *   npm run bench                       everything at the default sizes
 *   npm run bench -- --cards=20,50,100  the concurrency sizes
 *   npm run bench -- --only=events      one section (steps | events | turns | completion | orchestration |
 *                                       reaper | sandbox | throughput), or several: --only=completion,reaper
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { completionDetection } from "./completion.js";
import { ingest } from "./ingest.js";
import { orchestrationCost } from "./orchestration.js";
import { reaperCost } from "./reaper.js";
import { coldStart } from "./sandboxes.js";
import { concurrent } from "./throughput.js";
import { stepOverhead } from "./stepOverhead.js";
import { turnOverhead } from "./turns.js";
import { table, type Row } from "./stats.js";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const only = arg("only");
const cards = (arg("cards") ?? "20").split(",").map(Number);
const want = (s: string) => !only || only.split(",").includes(s);

const rows: Row[] = [];
const step = async (name: string, f: () => Promise<Row[]>) => {
  if (!want(name)) return;
  process.stderr.write(`bench: ${name}…\n`);
  rows.push(...(await f()));
};
// Fake time first, before any section has opened sockets whose timers a fake clock would see.
await step("orchestration", () => orchestrationCost());
await step("steps", () => stepOverhead());
await step("events", () => ingest());
await step("turns", () => turnOverhead());
await step("completion", () => completionDetection());
await step("reaper", () => reaperCost());
await step("sandbox", () => coldStart());
for (const n of cards) await step("throughput", () => concurrent(n));

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
console.log(`\nLakitu benchmark — ${new Date().toISOString()} — ${machine}\n`);
console.log(table(rows));
mkdirSync("bench-results", { recursive: true });
writeFileSync("bench-results/latest.json", JSON.stringify({ at: new Date().toISOString(), machine, rows }, null, 2));
process.exit(0);
