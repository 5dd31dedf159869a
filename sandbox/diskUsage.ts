/**
 * What a sandbox's writable directories hold on disk: a walk that counts allocated bytes (sparse files
 * count what they use; a file hard-linked twice counts once) and entries, and stops early once either
 * is over its limit, so one walk never costs more than about `maxEntries` lstat calls (plus one batch).
 * Asynchronous, so the host keeps answering during a walk. Symlinks are counted, never followed.
 */
import { statfsSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

export type DiskUsage = { bytes: number; entries: number; complete: boolean };

/** lstat calls in flight at once (libuv's pool does the work, so the host's event loop stays free). */
const BATCH = 64;

export async function diskUsage(roots: string[], limits: { maxBytes: number; maxEntries: number }): Promise<DiskUsage> {
  let bytes = 0;
  let entries = 0;
  const seenLinks = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue; // removed meanwhile
    }
    for (let i = 0; i < names.length; i += BATCH) {
      const paths = names.slice(i, i + BATCH).map((name) => path.join(dir, name));
      const stats = await Promise.all(paths.map((p) => lstat(p).catch(() => undefined)));
      for (const [j, st] of stats.entries()) {
        if (!st) continue;
        entries++;
        if (st.nlink > 1 && !st.isDirectory()) {
          const key = `${st.dev}:${st.ino}`;
          if (seenLinks.has(key)) continue;
          seenLinks.add(key);
        }
        bytes += st.blocks * 512;
        if (st.isDirectory()) stack.push(paths[j]!);
      }
      if (bytes > limits.maxBytes || entries > limits.maxEntries) return { bytes, entries, complete: false };
    }
  }
  return { bytes, entries, complete: true };
}

/** Size and bytes in use of the filesystem mounted at `dir` (a tmpfs), or undefined when it cannot be read. */
export function filesystemUsage(dir: string): { sizeBytes: number; usedBytes: number } | undefined {
  try {
    const s = statfsSync(dir);
    return { sizeBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
  } catch {
    return undefined;
  }
}
