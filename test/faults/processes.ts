/** Host processes of the local stack's sandboxes, read from /proc: a run's runtime pids, and whether a pid lives. */
import { readFileSync } from "node:fs";
import type { LocalStack } from "../../cli/embedded/stack.js";

/** Host pids of the runtime process (node …/main.js) of the run's sandbox. */
export function runtimePids(s: LocalStack, runId: string): number[] {
  const box = s.host.list().find((b) => b.metadata["lakitu.run"] === runId);
  if (!box) return [];
  return box.pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((a) => a.endsWith("main.js")) && readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(process.execPath);
    } catch {
      return false;
    }
  });
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
