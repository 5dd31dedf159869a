/**
 * The embedded deployment: the Lakitu component running in-process on convex-test (the Convex team's
 * runtime for tests) with real timers, its HTTP routes served on a loopback port, and a provider module
 * standing in for the app's `"use node"` action. The component is the root module so that convex-test
 * serves its http.ts (it serves only the root's).
 */
import { convexTest } from "convex-test";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createFunctionHandle, makeFunctionReference } from "convex/server";
import { loadOnce, moduleMap, registerChildren } from "./modules.js";
import { serializeBlobStores } from "./storageWrites.js";
import { FunctionCounter } from "./counters.js";
import { indexDatabases } from "./indexedDb.js";
import { installNodeWebTransport } from "../../convex/gateway/nodeWebTransport.js";
import { LimitsChecker } from "../../convex/testkit/limitsChecker.js";
import { describeViolation, limitsFromEnv, type LimitsOption } from "../../convex/testkit/limits.js";

const here = dirname(fileURLToPath(import.meta.url));
/** convex/component, whether we run from source (cli/embedded) or from dist (dist/cli/embedded). */
export const COMPONENT_DIR = join(here, "..", "..", "convex", "component");
const EXT = existsSync(join(COMPONENT_DIR, "schema.ts")) ? ".ts" : ".js";

export type EmbeddedDeployment = {
  t: Awaited<ReturnType<typeof makeTest>>;
  /** Base URL of the component's routes; pass it as the run's callbackUrl. */
  url: string;
  /** Function handle of the provider module, for runCard. */
  providerHandle: string;
  /** Every function is checked against Convex's production limits; what broke one is listed here. */
  limits: LimitsChecker;
  /** Function executions, HTTP requests and documents written so far (for the benchmark). */
  counters: FunctionCounter;
  close(): Promise<void>;
};

type ModuleLoaders = Record<string, () => Promise<unknown>>;

async function makeTest(providerModule: () => Promise<unknown>, limits: LimitsChecker, counters: FunctionCounter, extra: ModuleLoaders = {}) {
  const schema = (await import(pathToFileURL(join(COMPONENT_DIR, `schema${EXT}`)).href)).default;
  const extraModules = Object.fromEntries(Object.entries(extra).map(([name, load]) => [`./${name}${EXT}`, loadOnce(load)]));
  const modules = { ...moduleMap(COMPONENT_DIR, [EXT]), [`./lakituProvider${EXT}`]: loadOnce(providerModule), ...extraModules };
  // The counter wraps the limits checker's wrapper, for the root and (attach order) the children alike.
  const t = limits.attach(counters.attach(convexTest(schema, counters.modules(limits.modules(modules)))));
  // web.fetch runs in this process: check the addresses names resolve to, at connect time.
  installNodeWebTransport();
  await registerChildren(t);
  // Blob stores in a transaction of their own (see storageWrites.ts).
  if (!(await serializeBlobStores(t))) {
    const message = "convex-test's internals are not the expected ones: uploads may fail while other functions run";
    console.error(JSON.stringify({ level: "warn", event: "embedded_storage_unpatched", message }));
  }
  // Queries by index instead of scans of the whole component (see indexedDb.ts).
  if (!(await indexDatabases(t))) {
    const message = "convex-test's internals are not the expected ones: queries scan every document";
    console.error(JSON.stringify({ level: "warn", event: "embedded_index_unavailable", message }));
  }
  return t;
}

/**
 * Starts the embedded deployment. `providerModule` must export `provider` (an internal action).
 * `limits` (default `LAKITU_LIMITS`, else "cloud"): functions fail as they would on that deployment
 * when they exceed Convex's limits, and each violation is logged.
 */
export async function startEmbeddedDeployment(opts: {
  providerModule: () => Promise<unknown>;
  port?: number;
  host?: string;
  limits?: LimitsOption;
  /** Also serve the routes on this unix socket (the benchmark's runtimes without sandboxes use it). */
  socketPath?: string;
  /** More modules beside the component's, by name (`{ benchFloor: () => import(...) }` → `benchFloor:fn`); for the benchmark. */
  extraModules?: ModuleLoaders;
}): Promise<EmbeddedDeployment> {
  const limits = new LimitsChecker({
    limits: opts.limits ?? limitsFromEnv(process.env.LAKITU_LIMITS),
    onViolation: (v) => console.error(JSON.stringify({ level: "error", event: "convex_limit_exceeded", message: describeViolation(v), ...v })),
  });
  const counters = new FunctionCounter();
  const t = await makeTest(opts.providerModule, limits, counters, opts.extraModules);
  const lock = new UploadLock();
  const handle = (req: IncomingMessage, res: ServerResponse) => void lock.run((req.url ?? "").startsWith("/artifacts"), () => {
    counters.httpRequest();
    return bridge(t, req, res);
  });
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const socketServer = opts.socketPath ? createServer(handle) : undefined;
  if (socketServer) await new Promise<void>((resolve) => socketServer.listen(opts.socketPath, resolve));
  const providerHandle: string = await t.run(async () => await createFunctionHandle(makeFunctionReference<"action">("lakituProvider:provider")));
  const close = async () => {
    await closeServer(server);
    if (socketServer) await closeServer(socketServer);
  };
  return { t, url: `http://${opts.host ?? "127.0.0.1"}:${port}`, providerHandle, limits, counters, close };
}

async function bridge(t: EmbeddedDeployment["t"], req: IncomingMessage, res: ServerResponse) {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const body = chunks.length ? new Uint8Array(Buffer.concat(chunks)) : undefined;
    const r = await t.fetch(req.url ?? "/", { method: req.method, headers, body });
    res.writeHead(r.status, Object.fromEntries(r.headers));
    res.end(Buffer.from(await r.arrayBuffer()));
  } catch (e) {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: false, code: "internal", message: e instanceof Error ? e.message : String(e) }));
  }
}

/**
 * Uploads run alone; other requests run concurrently with each other. The blob store itself is safe
 * against concurrent transactions (storageWrites.ts); this keeps a large upload's hashing and copying
 * from interleaving with other requests of the same runtime. (A real deployment has no such limit.)
 */
class UploadLock {
  private active = 0;
  private uploading: Promise<void> | null = null;
  private idle: Array<() => void> = [];

  async run(exclusive: boolean, fn: () => Promise<void>): Promise<void> {
    while (this.uploading) await this.uploading;
    if (!exclusive) {
      this.active++;
      try {
        return await fn();
      } finally {
        if (--this.active === 0) for (const wake of this.idle.splice(0)) wake();
      }
    }
    let release!: () => void;
    this.uploading = new Promise((r) => (release = r));
    try {
      while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
      return await fn();
    } finally {
      this.uploading = null;
      release();
    }
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}
