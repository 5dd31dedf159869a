/** Shared setup of the end-to-end tests: the whole local stack, and small waits on real time. */
import { api } from "../../convex/component/_generated/api.js";
import { startLocalStack, type LocalStack } from "../../cli/embedded/stack.js";

export { api };
export type Stack = LocalStack;
export type T = LocalStack["deployment"]["t"];

export async function stack(): Promise<LocalStack> {
  return await startLocalStack({ warn: () => {} });
}

/** Polls `cond` on real time until it holds; fails with `what` after `ms`. */
export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export async function runCard(s: LocalStack, cardId: string) {
  const { t, url, providerHandle } = s.deployment;
  return await t.mutation(api.runs.runCard, { cardId, providerHandle, callbackUrl: url });
}

export async function card(t: T, cardId: string) {
  return (await t.query(api.cards.getCard, { cardId }))!;
}

/** True when no process of any sandbox is alive and no sandbox directory is left. */
export function nothingLeft(s: LocalStack): boolean {
  return s.host.list().length === 0;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
