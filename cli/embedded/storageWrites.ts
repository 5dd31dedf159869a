/**
 * Blob uploads in the embedded deployment, made safe against concurrent transactions.
 *
 * convex-test stores a blob from an action (`ctx.storage.store`) by writing the `_storage` row into
 * whatever transaction happens to be running at that moment, or into one of its own when none is.
 * When one is running, and commits while the blob is being hashed (tens of milliseconds for a 17 MiB
 * file), the write lands outside any transaction and fails: "Write outside of transaction …_storage".
 * Any query or mutation running meanwhile causes it (a dashboard's polling, the workflow's scheduled
 * steps), so a large upload can fail on every retry. A real deployment has no such race.
 *
 * The fix: the store waits until no transaction is running, then calls convex-test's store at once (no
 * await in between), which then takes a transaction of its own and holds it while it hashes and writes.
 * A store made inside a transaction (`t.run` in a test) would wait for itself: after a short bound it
 * goes ahead inside that transaction, which is then its own and does not commit under it.
 */
import { captureContext } from "./indexedDb.js";

type JsSyscall = (op: string, args: Record<string, unknown>) => Promise<unknown>;
type Runner = { run: (f: (ctx: unknown) => Promise<unknown>) => Promise<unknown> };

/** How long a store waits for the running transaction to end before it takes it for its caller's own. */
const OWN_TRANSACTION_WAIT_MS = 250;

/** Patches convex-test instance `t`; false (and nothing changed) when its internals are not the expected ones. */
export async function serializeBlobStores(t: Runner): Promise<boolean> {
  const convex = (await captureContext(t)) as { jsSyscall?: unknown } | undefined;
  if (!convex || typeof convex.jsSyscall !== "function") return false;
  const manager = (convex as { transactionManager?: { isInTransaction?: () => boolean } }).transactionManager;
  if (typeof manager?.isInTransaction !== "function") return false;
  const busy = () => manager.isInTransaction!();
  const original = convex.jsSyscall as JsSyscall;
  convex.jsSyscall = (async (op, args) => {
    if (op !== "storage/storeBlob") return await original(op, args);
    for (const until = Date.now() + OWN_TRANSACTION_WAIT_MS; busy() && Date.now() < until; ) await new Promise((r) => setImmediate(r));
    return await original(op, args);
  }) satisfies JsSyscall;
  return true;
}
