/** Runs the CLI in-process against a folder, capturing what it prints. */
import type { Io } from "../io.js";
import { runCli } from "../main.js";

export type Run = { code: number; stdout: string; stderr: string; json(): any };

export type RunOptions = Partial<Omit<Io, "stdout" | "stderr">> & { onStdout?: (text: string) => void };

export async function lakitu(cwd: string, argv: string[], opts: RunOptions = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    cwd,
    env: {},
    isTTY: false,
    confirm: async () => {
      throw new Error("the test did not expect a question");
    },
    signal: new AbortController().signal,
    ...opts,
    stdout: (t) => {
      stdout += t;
      opts.onStdout?.(t);
    },
    stderr: (t) => {
      stderr += t;
    },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
