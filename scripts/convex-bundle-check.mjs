#!/usr/bin/env node
/**
 * The convex CLI's offline bundling check: `npx convex codegen [args]` in the current folder against a
 * stand-in backend on loopback. The CLI bundles every module for its runtime (failing on Node
 * built-ins outside "use node", on "use node" inside a component, and on unresolvable imports) before
 * it asks a backend for anything. The stand-in answers that first request with a 400, which the CLI
 * does not retry, so a good bundle stops at "Downloading current deployment state" in a few seconds.
 *
 *   node scripts/convex-bundle-check.mjs [convex codegen args...]
 *
 * Exits 0 when the bundle is good, 1 with the CLI's output when it is not.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";

const server = createServer((req, res) => {
  req.resume();
  res.writeHead(400, { "content-type": "application/json" });
  res.end(JSON.stringify({ code: "OfflineBundleCheck", message: "no deployment: this is an offline bundle check" }));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const env = { ...process.env };
for (const key of Object.keys(env)) if (key.startsWith("CONVEX_")) delete env[key];
Object.assign(env, {
  CONVEX_SELF_HOSTED_URL: `http://127.0.0.1:${server.address().port}`,
  CONVEX_SELF_HOSTED_ADMIN_KEY: "offline-check",
  CI: "1", // no crash report to Sentry
  NO_COLOR: "1",
});
const args = ["convex", "codegen", "--typecheck", "disable", ...process.argv.slice(2)];
const child = spawn("npx", args, { env, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
child.stdout.on("data", (d) => (output += d));
child.stderr.on("data", (d) => (output += d));
const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
const code = await new Promise((resolve) => child.on("close", resolve));
clearTimeout(timer);
server.close();
const reached = output.includes("Downloading current deployment state");
const errors = output.includes("ERROR]") || output.includes("✘ [ERROR]");
if (reached && !errors) {
  console.log(`bundle check: npx ${args.join(" ")} bundled every module (stopped at the stand-in backend, exit ${code})`);
  process.exit(0);
}
console.error(`bundle check: npx ${args.join(" ")} failed to bundle:\n${output.split("\n").slice(0, 60).join("\n")}`);
process.exit(1);
