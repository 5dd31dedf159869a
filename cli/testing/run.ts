/** Runs the CLI in-process against a folder, capturing what it prints. */
import type { Io } from "../io.js";
import { runCli } from "../main.js";

export type Exec = { cmd: string; args: string[]; cwd: string };
/** `execs`: the programs the command ran (tests see them instead of running them, unless they pass `exec`). */
export type Run = { code: number; stdout: string; stderr: string; execs: Exec[]; json(): any };

export type RunOptions = Partial<Omit<Io, "stdout" | "stderr">> & { onStdout?: (text: string) => void };

export async function lakitu(cwd: string, argv: string[], opts: RunOptions = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const execs: Exec[] = [];
  const io: Io = {
    cwd,
    env: {},
    isTTY: false,
    confirm: async () => {
      throw new Error("the test did not expect a question");
    },
    signal: new AbortController().signal,
    exec: async () => 0,
    ...opts,
    stdout: (t) => {
      stdout += t;
      opts.onStdout?.(t);
    },
    stderr: (t) => {
      stderr += t;
    },
  };
  const exec = io.exec;
  io.exec = (cmd, args, dir) => {
    execs.push({ cmd, args, cwd: dir });
    return exec(cmd, args, dir);
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, execs, json: () => JSON.parse(stdout) };
}
