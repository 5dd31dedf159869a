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
 * The fix: the store syscall runs inside a transaction of its own, `t.run`, which waits for the one in
 * progress and holds off the next until the row is written.
 */
import { captureContext } from "./indexedDb.js";

type JsSyscall = (op: string, args: Record<string, unknown>) => Promise<unknown>;
type Runner = { run: (f: (ctx: unknown) => Promise<unknown>) => Promise<unknown> };

/** Patches convex-test instance `t`; false (and nothing changed) when its internals are not the expected ones. */
export async function serializeBlobStores(t: Runner): Promise<boolean> {
  const convex = (await captureContext(t)) as { jsSyscall?: unknown } | undefined;
  if (!convex || typeof convex.jsSyscall !== "function") return false;
  const original = convex.jsSyscall as JsSyscall;
  convex.jsSyscall = (async (op, args) => {
    if (op !== "storage/storeBlob") return await original(op, args);
    return await t.run(async () => await original(op, args));
  }) satisfies JsSyscall;
  return true;
}
