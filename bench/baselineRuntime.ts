/**
 * The runtime as it was before issue 15's start-up work, for the runtime section's before column: the
 * bundle of the parent of commit 01cce5b ("one executor process per run … runtime start about 0.36x of
 * before"), built from this checkout's git history into a temporary folder with that commit's own build
 * script. LAKITU_BENCH_BASELINE_RUNTIME=<dir> (a folder holding an older build's main.js) takes its
 * place; without either (a shallow clone), the section prints no before column and says why.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
/** The last commit before the runtime's start-up work. */
export const BASELINE_RUNTIME_COMMIT = "01cce5b^";

export type BaselineRuntime = { dir: string; label: string; cleanup: () => Promise<void> } | { dir?: undefined; why: string };

export async function baselineRuntime(): Promise<BaselineRuntime> {
  const given = process.env.LAKITU_BENCH_BASELINE_RUNTIME;
  if (given) return { dir: given, label: "LAKITU_BENCH_BASELINE_RUNTIME", cleanup: async () => {} };
  const repo = process.cwd();
  try {
    await run("git", ["rev-parse", "--verify", "--quiet", `${BASELINE_RUNTIME_COMMIT}^{commit}`], { cwd: repo });
  } catch {
    return { why: `no before column: commit ${BASELINE_RUNTIME_COMMIT} is not in this checkout's history (a shallow clone?)` };
  }
  const tmp = await mkdtemp(join(tmpdir(), "lakitu-baseline-runtime-"));
  const src = join(tmp, "src");
  const cleanup = async () => {
    await run("git", ["worktree", "remove", "--force", src], { cwd: repo }).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    await run("git", ["worktree", "add", "--detach", "--quiet", src, BASELINE_RUNTIME_COMMIT], { cwd: repo });
    await symlink(resolve(repo, "node_modules"), join(src, "node_modules"), "dir");
    const build = (await import(pathToFileURL(join(src, "scripts", "build-runtime.ts")).href)) as {
      buildRuntime: (opts: { outdir: string }) => Promise<unknown>;
    };
    await build.buildRuntime({ outdir: join(tmp, "dist") });
    return { dir: join(tmp, "dist"), label: `the runtime at ${BASELINE_RUNTIME_COMMIT}`, cleanup };
  } catch (e) {
    await cleanup();
    return { why: `no before column: building the runtime at ${BASELINE_RUNTIME_COMMIT} failed: ${(e as Error).message.split("\n")[0]}` };
  }
}
