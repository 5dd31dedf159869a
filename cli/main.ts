/**
 * The `lakitu` command line: dispatch to one module per command, option parsing through args.ts,
 * and every error printed here, in one format, with one exit code policy:
 * 0 success · 1 the command ran and failed · 2 usage error.
 */
import { COMMON_FLAGS, helpText, parseArgs, type CommandSpec, type Flags } from "./args.js";
import type { Command } from "./command.js";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.js";
import { makeOut, type Io } from "./io.js";
import { c } from "./output.js";

type Entry = { summary: string; load: () => Promise<Command<any>> };

const COMMANDS: Record<string, Entry> = {
  dev: { summary: "run the board on this machine: the dashboard, local sandboxes, your KSAs and boards", load: async () => (await import("./commands/dev.js")).dev },
  init: { summary: "wire Lakitu into this Convex app (config, functions, provider, env, KSA folder)", load: async () => (await import("./commands/init.js")).init },
  build: { summary: "validate the app's KSAs and build the sandbox runtime and template into .lakitu/build", load: async () => (await import("./commands/build.js")).build },
  publish: { summary: "build the sandbox template on E2B and pin the component to it", load: async () => (await import("./commands/publish.js")).publish },
  status: { summary: "active runs and sandboxes of the configured deployment", load: async () => (await import("./commands/status.js")).status },
  "sandbox serve": { summary: "run the local sandbox host (E2B wire protocol on this machine)", load: async () => (await import("./commands/sandbox.js")).sandboxServe },
};

const DEMO_FLAGS = {
  out: { type: "string", placeholder: "dir", description: "where the artifacts are written (default .lakitu/demo)" },
  keep: { type: "boolean", description: "keep the stack and the dashboard running after the tour, until Ctrl-C" },
  port: { type: "integer", placeholder: "n", min: 0, max: 65535, description: "the dashboard's port (default 4777, or any free one when taken)" },
  help: COMMON_FLAGS.help,
} as const satisfies Flags;

const DEMO_SPEC: CommandSpec<typeof DEMO_FLAGS> = {
  name: "demo",
  summary: "Runs a board end to end on this machine: local sandboxes, the scripted model, no keys, no network. Serves the dashboard meanwhile.",
  flags: DEMO_FLAGS,
};

export const USAGE = `lakitu <command> [options]

Commands:
  demo           run a board end to end on this machine: local sandboxes, scripted model, no keys (--keep: then the dashboard until Ctrl-C)
${Object.entries(COMMANDS)
  .map(([name, e]) => `  ${name.padEnd(15)}${e.summary}`)
  .join("\n")}

Options:
  -h, --help     show help (also after a command: lakitu init --help)
  --json         machine-readable output (every command but demo)

Exit codes: 0 success, 1 the command ran and failed, 2 usage error.
`;

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === "-h" || first === "--help") {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  const json = rest.includes("--json");
  let name = first;
  let args = rest;
  try {
    if (first === "demo") return await runDemo(rest, io);
    if (first === "sandbox") {
      const sub = rest[0];
      if (sub === undefined || sub === "-h" || sub === "--help") {
        io.stdout(`lakitu sandbox serve [options]\n\n  serve   ${COMMANDS["sandbox serve"].summary}\n`);
        return sub === undefined ? EXIT_USAGE : EXIT_OK;
      }
      if (sub !== "serve") throw new UsageError(`lakitu sandbox: unknown subcommand "${sub}"`, "the only one is: lakitu sandbox serve");
      name = "sandbox serve";
      args = rest.slice(1);
    }
    const entry = COMMANDS[name];
    if (!entry) throw new UsageError(`lakitu: unknown command "${first}"`, `commands: demo, ${Object.keys(COMMANDS).join(", ")}`);
    const command = await entry.load();
    const spec = { ...command.spec, flags: { ...command.spec.flags, ...COMMON_FLAGS } };
    const parsed = parseArgs(spec, args);
    if (parsed.flags.help) {
      io.stdout(helpText(spec));
      return EXIT_OK;
    }
    const result = await command.run(parsed, io, makeOut(io, json));
    if (json) io.stdout(`${JSON.stringify({ ok: result.ok, ...result.data }, null, 2)}\n`);
    return result.ok ? EXIT_OK : EXIT_FAILED;
  } catch (e) {
    return reportError(e, name, io, json);
  }
}

/** `demo` keeps its own module unchanged; its flags are validated here like everyone else's. */
async function runDemo(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseArgs(DEMO_SPEC, args);
  if (parsed.flags.help) {
    io.stdout(helpText(DEMO_SPEC));
    return EXIT_OK;
  }
  const { demo } = await import("./commands/demo.js");
  return await demo({ out: parsed.flags.out, port: parsed.flags.port, ...(parsed.flags.keep ? { keep: { signal: io.signal } } : {}) });
}

function reportError(e: unknown, name: string, io: Io, json: boolean): number {
  const known = e instanceof CliError;
  const message = known ? e.message : `unexpected error: ${e instanceof Error ? e.message : String(e)}`;
  const hint = known ? e.hint : "this is a bug in lakitu; run again with LAKITU_DEBUG=1 for the stack trace";
  const code = known ? e.exitCode : EXIT_FAILED;
  if (json) {
    const error = { code: known ? e.code : "internal", message, hint, details: known && e.details.length ? e.details : undefined };
    io.stdout(`${JSON.stringify({ ok: false, error }, null, 2)}\n`);
    return code;
  }
  const prefix = message.startsWith("lakitu") ? "" : `lakitu ${name}: `;
  const lines = [c.red(`${prefix}${message}`)];
  if (known) for (const d of e.details) lines.push(`  ${d}`);
  if (hint) lines.push(`${c.dim("→")} ${hint}`);
  if (e instanceof UsageError && COMMANDS[name]) lines.push(c.dim(`Run "lakitu ${name} --help" for the options.`));
  if (!known && io.env.LAKITU_DEBUG && e instanceof Error && e.stack) lines.push(e.stack);
  io.stderr(`${lines.join("\n")}\n`);
  return code;
}
