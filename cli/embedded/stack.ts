/**
 * The whole embedded default on this machine: the runtime bundle, the local sandbox host (E2B wire
 * protocol, bubblewrap isolation when available), the E2B provider pointed at it, and the component on
 * convex-test serving its routes over loopback HTTP. Used by `lakitu demo`, the end-to-end tests and the
 * benchmark.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startSandboxHost, type IsolationMode, type ResourceLimits, type SandboxHost } from "../../sandbox/index.js";
import { startEmbeddedDeployment, type EmbeddedDeployment } from "./deployment.js";
import { configureEmbeddedProvider } from "./provider.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type LocalStack = { host: SandboxHost; deployment: EmbeddedDeployment; runtimeDir: string; close(): Promise<void> };

/** Builds the runtime bundle when running from source; uses the shipped one otherwise. */
export async function ensureRuntimeBundle(): Promise<string> {
  const script = join(repoRoot, "scripts", "build-runtime.ts");
  const outdir = join(repoRoot, "runtime", "dist");
  if (existsSync(script)) {
    const { buildRuntime } = (await import(pathToFileURL(script).href)) as { buildRuntime: (o: { outdir: string }) => Promise<string[]> };
    await buildRuntime({ outdir });
  }
  if (!existsSync(join(outdir, "main.js"))) throw new Error(`the sandbox runtime bundle is missing at ${outdir}; run npx tsx scripts/build-runtime.ts`);
  return outdir;
}

export async function startLocalStack(
  opts: {
    isolation?: IsolationMode;
    root?: string;
    maxSandboxes?: number;
    sharedNetwork?: boolean;
    /** Per-sandbox resource limits (the host's defaults otherwise). */
    limits?: Partial<ResourceLimits>;
    /**
     * Where the sandboxes' component bridge forwards, when not the deployment itself (the fault suite
     * puts its callback proxy there).
     */
    componentUrl?: string;
    warn?: (m: string) => void;
    /** A runtime bundle built elsewhere (`lakitu dev` bundles the app's KSAs into one); default the package's. */
    runtimeDir?: string;
  } = {},
): Promise<LocalStack> {
  const runtimeDir = opts.runtimeDir ?? (await ensureRuntimeBundle());
  // Sandboxes have no network: the runtime reaches the deployment through the host's component bridge.
  const sharedNetwork = opts.sharedNetwork ?? false;
  // The deployment first: its loopback URL is the one origin the sandboxes' component bridge reaches.
  // (The provider is configured below; the deployment reads it only when a run starts.)
  const deployment = await startEmbeddedDeployment({ providerModule: () => import("./provider.js") });
  let host: SandboxHost;
  try {
    host = await startSandboxHost({
      isolation: opts.isolation ?? "auto",
      root: opts.root,
      maxSandboxes: opts.maxSandboxes,
      mounts: [{ hostPath: runtimeDir, sandboxPath: "/opt/lakitu/runtime" }],
      componentUrl: opts.componentUrl ?? deployment.url,
      sharedNetwork,
      ...(opts.limits ? { limits: opts.limits } : {}),
      warn: opts.warn,
    });
  } catch (e) {
    await deployment.close();
    throw e;
  }
  const main = host.isolation === "bwrap" ? "/opt/lakitu/runtime/main.js" : join(runtimeDir, "main.js");
  configureEmbeddedProvider({
    apiKey: host.apiKey,
    template: "lakitu",
    command: `${process.execPath} ${main}`,
    connection: { apiUrl: host.url, sandboxUrl: host.url },
    // A host sharing its network refuses network rules (it could not honour them).
    ...(sharedNetwork ? { network: "open" as const } : {}),
  });
  return {
    host,
    deployment,
    runtimeDir,
    close: async () => {
      await deployment.close();
      await host.close();
    },
  };
}
