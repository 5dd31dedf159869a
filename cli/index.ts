#!/usr/bin/env node
/** The `lakitu` command: one file per command under cli/commands, errors handled here. */
import { c } from "./output.js";

const USAGE = `lakitu <command> [options]

Commands:
  demo       run a board end to end on this machine: local sandboxes, scripted model, no keys
  init       wire Lakitu into a Convex app (coming with the CLI)
  build      build the sandbox template (coming with the CLI)
  publish    publish the template to E2B (coming with the CLI)

Options:
  -h, --help  show this help

Exit codes: 0 success, 1 the command ran and failed, 2 usage error.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help") {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case "demo": {
      const { demo } = await import("./commands/demo.js");
      return await demo(rest);
    }
    case "init":
    case "build":
    case "publish":
      process.stderr.write(`lakitu ${command}: not available in this release yet (see README "Status").\n`);
      return 2;
    default:
      process.stderr.write(`lakitu: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${c.red("lakitu: ")}${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
