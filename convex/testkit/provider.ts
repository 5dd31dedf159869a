/**
 * A scriptable sandbox provider for tests ONLY. It implements the provider contract in memory; tests
 * override any operation to inject failures. Nothing outside tests may import it: real apps use the
 * e2b or local provider.
 *
 * State lives on globalThis so the test file and the module convex-test loads share it.
 */
import { internalActionGeneric } from "convex/server";
import { providerArgs, vProviderResult, type ProviderRequest, type ProviderResult } from "../shared/validators.js";

export type FakeSandbox = {
  sandboxId: string;
  sessionId: string;
  envs: Record<string, string>;
  /** What `status` reports once the sandbox is gone (a crossed resource limit). */
  goneReason?: string;
  metadata: Record<string, string>;
  alive: boolean;
};
type Override = (req: ProviderRequest) => ProviderResult | undefined | Promise<ProviderResult | undefined>;

export class TestProvider {
  calls: ProviderRequest[] = [];
  sandboxes = new Map<string, FakeSandbox>();
  /** Return a result to override the default behaviour of an op; return undefined to fall through. */
  override: Override | null = null;
  private next = 1;

  reset() {
    this.calls = [];
    this.sandboxes.clear();
    this.override = null;
    this.next = 1;
  }
  alive(): FakeSandbox[] {
    return [...this.sandboxes.values()].filter((s) => s.alive);
  }
  /** The most recent sandbox created for a session, with its environment (holds the token). */
  latest(): FakeSandbox {
    const all = [...this.sandboxes.values()];
    if (!all.length) throw new Error("no sandbox was created");
    return all[all.length - 1];
  }
  /** Simulates a sandbox dying on its own (OOM, host loss); `reason` is what `status` reports then. */
  crash(sandboxId: string, reason?: string) {
    const s = this.sandboxes.get(sandboxId);
    if (s) {
      s.alive = false;
      s.goneReason = reason;
    }
  }
  async handle(req: ProviderRequest): Promise<ProviderResult> {
    this.calls.push(req);
    const forced = await this.override?.(req);
    if (forced) return forced;
    switch (req.op) {
      case "create": {
        const sandboxId = `sbx-${this.next++}`;
        this.sandboxes.set(sandboxId, { sandboxId, sessionId: req.sessionId, envs: req.envs, metadata: req.metadata, alive: true });
        return { ok: true, op: "create", sandboxId };
      }
      case "kill": {
        const s = this.sandboxes.get(req.sandboxId);
        if (!s) return { ok: false, error: { code: "not_found", message: `sandbox ${req.sandboxId} not found`, retryable: false } };
        const killed = s.alive;
        s.alive = false;
        return { ok: true, op: "kill", killed };
      }
      case "status": {
        const s = this.sandboxes.get(req.sandboxId);
        if (s?.alive) return { ok: true, op: "status", state: "running" };
        return { ok: true, op: "status", state: "gone", ...(s?.goneReason ? { reason: s.goneReason } : {}) };
      }
      case "extend":
        return { ok: true, op: "extend" };
      case "list": {
        const match = (m: Record<string, string>) => Object.entries(req.metadata).every(([k, v]) => m[k] === v);
        return {
          ok: true,
          op: "list",
          sandboxes: this.alive().filter((s) => match(s.metadata)).map((s) => ({ sandboxId: s.sandboxId, metadata: s.metadata })),
        };
      }
    }
  }
}

const g = globalThis as unknown as { __lakituTestProvider?: TestProvider };
export const testProvider: TestProvider = (g.__lakituTestProvider ??= new TestProvider());

export const provider = internalActionGeneric({
  args: providerArgs,
  returns: vProviderResult,
  handler: async (_ctx, { request }) => await testProvider.handle(request),
});
