/**
 * A resumed run starts with the paused run's files: each is fetched from the component (/restore),
 * checked against the sha256 the task lists, and written under the output folder, so the agent picks
 * up where it stopped (and the uploader stores them for this run too).
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import type { LakituClient } from "./client.js";
import type { Task } from "./task.js";

export async function restoreFiles(
  client: Pick<LakituClient, "restore">,
  outputDir: string,
  files: Task["restore"],
  opts: { signal?: AbortSignal; warn: (message: string) => void },
): Promise<string[]> {
  const restored: string[] = [];
  for (const f of files) {
    const target = resolve(outputDir, f.name);
    const rel = relative(outputDir, target);
    if (!rel || rel.startsWith("..") || isAbsolute(rel)) {
      opts.warn(`not restoring "${f.name}": the name leaves the output folder`);
      continue;
    }
    try {
      const bytes = await client.restore(f.artifactId, { signal: opts.signal });
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== f.sha256) {
        opts.warn(`not restoring "${f.name}": its bytes hash to ${sha256}, the task said ${f.sha256}`);
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
      restored.push(f.name);
    } catch (e) {
      opts.warn(`could not restore "${f.name}": ${(e as Error).message}`);
    }
  }
  return restored;
}
