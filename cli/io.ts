/**
 * What a command may touch of the outside world, passed in so tests run commands in-process:
 * the working directory, the environment, output streams, whether a person is at a terminal, and
 * the signal that ends long-running commands.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline/promises";

export type Io = {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** A person can answer questions (stdin and stdout are terminals). */
  isTTY: boolean;
  /** Asks a yes/no question; only called when `isTTY`. */
  confirm(question: string): Promise<boolean>;
  /** Aborted when the user asks a long-running command to stop (SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Runs a program in `cwd` with its output on our stderr; resolves to its exit code. */
  exec(cmd: string, args: string[], cwd: string): Promise<number>;
};

/** The real process. */
export function processIo(): Io {
  let stop: AbortController | undefined;
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
        return answer === "y" || answer === "yes";
      } finally {
        rl.close();
      }
    },
    exec: (cmd, args, cwd) =>
      new Promise((resolve) => {
        // No shell: arguments are passed as they are. Output goes to stderr so --json keeps stdout clean.
        const child = spawn(cmd, args, { cwd, stdio: ["ignore", process.stderr, process.stderr] });
        child.on("error", () => resolve(127));
        child.on("close", (code) => resolve(code ?? 1));
      }),
    // Handlers are installed only for a command that asks for the signal: the others keep Node's
    // default (Ctrl-C ends the process at once).
    get signal() {
      if (!stop) {
        const controller = (stop = new AbortController());
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => controller.abort(sig));
      }
      return stop.signal;
    },
  };
}

/**
 * Human output of a command. With `--json` the human lines go to stderr so that stdout carries only
 * the one JSON document `main.ts` prints at the end.
 */
export type Out = {
  json: boolean;
  line(text?: string): void;
  warn(text: string): void;
};

export function makeOut(io: Io, json: boolean): Out {
  const human = json ? io.stderr : io.stdout;
  return {
    json,
    line: (text = "") => human(`${text}\n`),
    warn: (text) => io.stderr(`${text}\n`),
  };
}
