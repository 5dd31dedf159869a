/** Shared setup for runtime tests: a fake component, a temp workspace, and an in-process run. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RuntimeEnv } from "../env.js";
import { runRuntime, type RuntimeOptions, type RuntimeOutcome } from "../run.js";
import { FakeComponent, testToken, type FakeOptions } from "./fakeComponent.js";

export const FAKE_KSA = new URL("./fakeKsa.ts", import.meta.url).href;
export const FAST_RETRY = { initialMs: 20, maxMs: 200, factor: 2 };

export type Harness = { fake: FakeComponent; env: RuntimeEnv; workspace: string; token: string; cleanup: () => Promise<void> };

export async function harness(fakeOptions: Omit<FakeOptions, "token"> = {}, envOverrides: Partial<RuntimeEnv> = {}): Promise<Harness> {
  const token = testToken();
  const workspace = await mkdtemp(join(tmpdir(), "lakitu-rt-"));
  const fake = await new FakeComponent({ token, generation: 1, ...fakeOptions }).start();
  const env: RuntimeEnv = {
    url: fake.url,
    token,
    generation: 1,
    runId: "run_1",
    sessionId: "sess1",
    workspace,
    heartbeatMs: 1_000,
    stepTimeoutMs: 5_000,
    maxOutputBytes: 4_096,
    ...envOverrides,
  };
  return {
    fake,
    env,
    workspace,
    token,
    cleanup: async () => {
      await fake.close();
      await rm(workspace, { recursive: true, force: true });
    },
  };
}

export function run(h: Harness, opts: RuntimeOptions = {}): Promise<RuntimeOutcome> {
  return runRuntime(h.env, { ksaModule: FAKE_KSA, retry: FAST_RETRY, flushMs: 20, ...opts });
}

/** A model reply with one TypeScript block. */
export const ts = (code: string, prose = "Next step.") => `${prose}\n\n\`\`\`ts\n${code}\n\`\`\`\n`;

/** Polls `test` every 10 ms until it holds. */
export async function waitFor(test: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
