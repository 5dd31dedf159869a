import { describe, expect, test } from "vitest";
import { helpText, parseArgs, type CommandSpec } from "./args.js";
import { UsageError } from "./errors.js";

const spec = {
  name: "demo-cmd",
  summary: "A command.",
  flags: {
    force: { type: "boolean", description: "overwrite" },
    dir: { type: "string", placeholder: "folder", description: "where" },
    port: { type: "integer", min: 0, max: 65535, description: "port" },
    mode: { type: "string", choices: ["a", "b"], description: "mode" },
    help: { type: "boolean", short: "h", description: "help" },
  },
} satisfies CommandSpec;

describe("parseArgs", () => {
  test("values in every form", () => {
    expect(parseArgs(spec, ["--force", "--dir", "x", "--port=8", "--mode", "b", "-h"]).flags).toEqual({ force: true, dir: "x", port: 8, mode: "b", help: true });
    expect(parseArgs(spec, []).flags).toEqual({ force: false, dir: undefined, port: undefined, mode: undefined, help: false });
  });

  test.each([
    [["--frce"], 'lakitu demo-cmd: unknown option --frce (did you mean --force?)'],
    [["-x"], "lakitu demo-cmd: unknown option -x"],
    [["--dir"], "lakitu demo-cmd: --dir needs a value (folder)"],
    [["--dir", "--force"], "lakitu demo-cmd: --dir needs a value (folder)"],
    [["--force=yes"], "lakitu demo-cmd: --force takes no value"],
    [["--port", "80a"], 'lakitu demo-cmd: --port must be a whole number, got "80a"'],
    [["--port", "70000"], "lakitu demo-cmd: --port must be at most 65535, got 70000"],
    [["--mode", "c"], 'lakitu demo-cmd: --mode must be one of a, b, got "c"'],
    [["extra"], 'lakitu demo-cmd: unexpected argument "extra"'],
  ])("%j is a usage error", (argv, message) => {
    expect(() => parseArgs(spec, argv)).toThrow(UsageError);
    expect(() => parseArgs(spec, argv)).toThrow(message);
  });

  test("help lists every option and the exit codes", () => {
    const text = helpText(spec);
    expect(text).toContain("--dir <folder>");
    expect(text).toContain("(a | b)");
    expect(text).toContain("Exit codes: 0 success, 1 the command ran and failed, 2 usage error.");
  });
});
