/** Waiting on real time in the fault tests: polling until a condition holds, sleeping, and one-shot gates. */

export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type Gate = { promise: Promise<void>; open(): void; opened: boolean };
export function gate(): Gate {
  let open!: () => void;
  const g = { opened: false } as Gate;
  g.promise = new Promise<void>((r) => (open = r));
  g.open = () => {
    g.opened = true;
    open();
  };
  return g;
}
