/** The shape of a command module: its spec (flags, help) and what it does. */
import type { CommandSpec, Flags, Parsed } from "./args.js";
import type { Io, Out } from "./io.js";

/** `data` is the `--json` document (`ok` is added); `ok: false` exits 1. */
export type CommandResult = { ok: boolean; data?: Record<string, unknown> };

export type Command<F extends Flags = Flags> = {
  spec: CommandSpec<F>;
  run(args: Parsed<F>, io: Io, out: Out): Promise<CommandResult>;
};

/** Keeps the flag types of `spec` in `run`'s arguments. */
export function defineCommand<F extends Flags>(command: Command<F>): Command<F> {
  return command;
}
