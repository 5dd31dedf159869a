/**
 * The stacks the fault tests run against: `faultStack` (the embedded default — component on
 * convex-test with real timers, local bubblewrap sandboxes, the E2B provider, the runtime, the scripted
 * model — behind the callback proxy and, optionally, the E2B fault proxy) and `simStack` (the embedded
 * deployment with the in-memory test provider, the test playing the runtime).
 */
import { join } from "node:path";
import { api } from "../../convex/component/_generated/api.js";
import { configureEmbeddedProvider } from "../../cli/embedded/provider.js";
import { startLocalStack, type LocalStack } from "../../cli/embedded/stack.js";
import { startEmbeddedDeployment } from "../../cli/embedded/deployment.js";
import { testProvider } from "../../convex/testkit/provider.js";
import type { LimitViolation } from "../../convex/testkit/limits.js";
import { ScenarioMonitor } from "./monitor.js";
import { captureLogs } from "./secretScan.js";
import { actionCalls } from "./actionCalls.js";
import { CallbackProxy } from "./callbackProxy.js";
import { E2bFaultProxy } from "./e2bFaultProxy.js";
import { waitFor } from "./waiting.js";

/** The embedded deployment's convex-test handle. */
export type T = LocalStack["deployment"]["t"];

export type FaultStack = {
  s: LocalStack;
  t: T;
  /** The deployment's Convex-limits checker; its violations count as invariant violations. */
  limits: { readonly violations: ReadonlyArray<LimitViolation> };
  callbacks: CallbackProxy;
  e2b: E2bFaultProxy | undefined;
  providerHandle: string;
  /** Starts a run; its runtime calls back through the callback proxy under `profile`. */
  runCard(cardId: string, profile?: string): Promise<{ runId: string; workflowId: string }>;
  /** The sandboxes the host has now (id and metadata). */
  live(): Array<{ sandboxId: string; metadata: Record<string, string> }>;
  /** Reaper ticks so far (the app's cron, every `reapEveryMs`). */
  reaps: number;
  /** Checks stuck runs and token revocation while scenarios run (see monitor.ts). */
  monitor: ScenarioMonitor;
  /** What this process logged (console, stdout, stderr) since the stack started: scanned for secrets. */
  logs: string[];
  close(): Promise<void>;
};

export type FaultStackOptions = {
  heartbeatTimeoutMs?: number;
  maxSandboxes?: number;
  /** Put the E2B fault proxy between the provider and the sandbox host. */
  e2bProxy?: boolean;
  /** The app's reaper cron; 0 = none. Default 1000 ms. */
  reapEveryMs?: number;
  /** Leave the provider's key out of its options so it reads E2B_API_KEY from the environment. */
  keyFromEnv?: boolean;
  /** The in-scenario monitor's grace past a limit before a run counts as stuck. Default 10 s. */
  stuckGraceMs?: number;
  /** Per-sandbox resource limits for the local host (bytes, processes), handed to startLocalStack as `limits`. */
  hostLimits?: { memoryBytes?: number; diskBytes?: number; shmBytes?: number; maxProcesses?: number };
};

export async function faultStack(opts: FaultStackOptions = {}): Promise<FaultStack> {
  // The proxy first: it is where the sandboxes' component bridge forwards (they have no other network).
  const callbacks = await CallbackProxy.start();
  const s = await startLocalStack({
    warn: () => {},
    maxSandboxes: opts.maxSandboxes,
    componentUrl: callbacks.url,
    ...(opts.hostLimits ? { limits: opts.hostLimits } : {}),
  });
  const { t, url, providerHandle } = s.deployment;
  callbacks.target = url;
  let e2b: E2bFaultProxy | undefined;
  if (opts.e2bProxy || opts.keyFromEnv) {
    if (opts.e2bProxy) e2b = await E2bFaultProxy.start(s.host.url);
    const main = s.host.isolation === "bwrap" ? "/opt/lakitu/runtime/main.js" : join(s.runtimeDir, "main.js");
    if (opts.keyFromEnv) process.env.E2B_API_KEY = s.host.apiKey;
    configureEmbeddedProvider({
      ...(opts.keyFromEnv ? {} : { apiKey: s.host.apiKey }),
      template: "lakitu",
      command: `${process.execPath} ${main}`,
      connection: { apiUrl: e2b?.url ?? s.host.url, sandboxUrl: e2b?.url ?? s.host.url },
      // A host sharing its network refuses network rules (see cli/embedded/stack.ts).
      ...(s.host.network === "shared" ? { network: "open" as const } : {}),
    });
  }
  await t.mutation(api.config.configure, { heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 3_000 });
  await actionCalls.install();
  const monitor = new ScenarioMonitor(t, { url, tokens: () => callbacks.tokens, graceMs: opts.stuckGraceMs }).start();
  const logs = captureLogs();
  const stack: FaultStack = {
    s,
    t,
    limits: s.deployment.limits,
    callbacks,
    e2b,
    providerHandle,
    monitor,
    logs: logs.lines,
    reaps: 0,
    runCard: async (cardId, profile = "plain") => await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: `${callbacks.url}/${profile}` }),
    live: () => s.host.list().map((b) => ({ sandboxId: b.sandboxId, metadata: b.metadata })),
    close: async () => {
      if (timer) clearInterval(timer);
      logs.stop();
      await monitor.stop();
      await reaping;
      await callbacks.close();
      await s.close();
      await e2b?.close();
    },
  };
  let reaping: Promise<unknown> = Promise.resolve();
  const reapEveryMs = opts.reapEveryMs ?? 1_000;
  const timer =
    reapEveryMs > 0
      ? setInterval(() => {
          reaping = reaping.then(() => t.mutation(api.reaper.reap, {}).then(() => stack.reaps++, () => {}));
        }, reapEveryMs)
      : undefined;
  timer?.unref();
  return stack;
}

/**
 * The embedded deployment with the test provider (sandboxes in memory: the "runtime" is the test,
 * speaking the real HTTP protocol with the token the provider was given) and the callback proxy.
 */
export async function simStack(o: { heartbeatTimeoutMs?: number; stuckGraceMs?: number } = {}) {
  testProvider.reset();
  const d = await startEmbeddedDeployment({ providerModule: () => import("../../convex/testkit/provider.js") });
  const callbacks = await CallbackProxy.start(d.url);
  await d.t.mutation(api.config.configure, { heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 60_000 });
  const monitor = new ScenarioMonitor(d.t, { url: d.url, tokens: () => callbacks.tokens, graceMs: o.stuckGraceMs }).start();
  const logs = captureLogs();
  return {
    t: d.t as T,
    url: d.url,
    limits: d.limits,
    callbacks,
    monitor,
    logs: logs.lines,
    provider: testProvider,
    live: () => testProvider.alive().map((b) => ({ sandboxId: b.sandboxId, metadata: b.metadata })),
    runCard: async (cardId: string, profile = "plain") =>
      await d.t.mutation(api.runs.runCard, { cardId, providerHandle: d.providerHandle, callbackUrl: `${callbacks.url}/${profile}` }),
    /** The session environment the provider was given for this run, once its sandbox exists. */
    envOf: async (runId: string, ms = 60_000) => {
      let env: Record<string, string> | undefined;
      await waitFor(`a sandbox for run ${runId}`, () => (env = testProvider.alive().find((b) => b.metadata["lakitu.run"] === runId)?.envs) !== undefined, ms, 20);
      return env!;
    },
    close: async () => {
      logs.stop();
      await monitor.stop();
      await callbacks.close();
      await d.close();
    },
  };
}
export type SimStack = Awaited<ReturnType<typeof simStack>>;
