/**
 * The local sandbox host as a child process, for tests whose own environment has no Node (the
 * edge-runtime project): `node --import tsx sandbox/testing/hostProcess.ts [--templates a,b]
 * [--component-url URL] [--shared-network]`.
 *
 * Prints one JSON line on stdout once listening: `{ url, apiKey, isolation, inspectUrl }`.
 * `GET <inspectUrl>` answers `host.list()` as JSON, so a test can check the host's side of what it did.
 * Exits (killing every sandbox and removing its root) when stdin closes or on SIGTERM/SIGINT, so the
 * host never outlives the test process that started it. Not shipped.
 */
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startSandboxHost } from "../host.js";

const templatesArg = process.argv.indexOf("--templates");
const templates = templatesArg > 0 ? process.argv[templatesArg + 1]?.split(",").filter(Boolean) : undefined;

const root = mkdtempSync(path.join(os.tmpdir(), "lakitu-hostprocess-"));
const componentArg = process.argv.indexOf("--component-url");
const componentUrl = componentArg > 0 ? process.argv[componentArg + 1] : undefined;
const sharedNetwork = process.argv.includes("--shared-network");
const host = await startSandboxHost({ root, templates, componentUrl, sharedNetwork, warn: () => {} });

const inspect = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(host.list()));
});
await new Promise<void>((resolve) => inspect.listen(0, "127.0.0.1", resolve));
const { port } = inspect.address() as { port: number };

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  inspect.close();
  await host.close().catch(() => {});
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
process.stdin.on("end", () => void shutdown());
process.stdin.on("close", () => void shutdown());
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({ url: host.url, apiKey: host.apiKey, isolation: host.isolation, inspectUrl: `http://127.0.0.1:${port}/` })}\n`,
);
