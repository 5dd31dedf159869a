#!/usr/bin/env node
/**
 * The `lakitu` command. This release ships the component core; `init`, `build`, `publish` and the
 * offline `demo` arrive with the sandbox runtime and CLI work (see README "Status").
 */
const USAGE = `lakitu <command>

Commands:
  demo       run a board end to end offline (coming with the sandbox runtime)
  init       wire Lakitu into a Convex app (coming with the CLI)
  build      build the sandbox template (coming with the CLI)
  publish    publish the template to E2B (coming with the CLI)

Options:
  -h, --help  show this help
`;

export function main(argv: string[]): number {
  const [command] = argv;
  if (!command || command === "-h" || command === "--help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === "demo") {
    process.stdout.write(
      "lakitu demo: coming with the sandbox runtime.\n" +
        "Today the component core is complete and tested: run `npm test` to see a card pass two agent\n" +
        "stages to Done, retries with a retry context, the watchdog, the reaper and cancel.\n",
    );
    return 0;
  }
  if (command === "init" || command === "build" || command === "publish") {
    process.stderr.write(`lakitu ${command}: not available in this release yet (see README "Status").\n`);
    return 2;
  }
  process.stderr.write(`lakitu: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
