#!/usr/bin/env node
/** The `lakitu` bin: runs the command line against the real process (see main.ts). */
import { processIo } from "./io.js";
import { runCli } from "./main.js";
import { c } from "./output.js";

runCli(process.argv.slice(2), processIo()).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${c.red("lakitu: ")}${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
