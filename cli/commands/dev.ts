/**
 * `lakitu dev`: the local dev server. The component on convex-test, the local sandbox host, the app's
 * KSAs and declared boards, and the dashboard at http://127.0.0.1:<port>/ until Ctrl-C (see cli/dev/).
 */
import type { IsolationMode } from "../../sandbox/index.js";
import { defineCommand } from "../command.js";
import { CliError } from "../errors.js";
import { c } from "../output.js";
import { DEFAULT_BOARDS_FILE } from "../dev/boardsFile.js";
import { DEFAULT_DEV_PORT, startDev } from "../dev/start.js";

export const dev = defineCommand({
  spec: {
    name: "dev",
    summary: "Runs the board on this machine: the component, local sandboxes and the dashboard on 127.0.0.1, until Ctrl-C.",
    flags: {
      port: { type: "integer", placeholder: "n", min: 0, max: 65535, description: `port on 127.0.0.1 (default ${DEFAULT_DEV_PORT}; 0 = any free port)` },
      boards: { type: "string", placeholder: "file", description: `the declared boards, created at start (default ${DEFAULT_BOARDS_FILE} when present)` },
      isolation: { type: "string", choices: ["auto", "bwrap", "none"], description: "sandbox isolation (default auto: bubblewrap when available)" },
      model: { type: "string", placeholder: "model", description: "model of agent stages that name none (default scripted; e.g. openai/gpt-5-mini with OPENAI_API_KEY set)" },
    },
    details: `The boards file is { "boards": [ { "name", "description"?, "stages": [...] } ] }; the stages are
what createBoard takes. Run history is not kept: everything lives in memory and the declared boards are
created again on each start. The app's KSAs (lakitu/ksa/) are bundled into the sandboxes' runtime.`,
  },
  async run({ flags }, io, out) {
    const dev = await startDev({
      cwd: io.cwd,
      port: flags.port ?? DEFAULT_DEV_PORT,
      boardsFile: flags.boards,
      isolation: (flags.isolation ?? "auto") as IsolationMode,
      model: flags.model,
      env: io.env,
      log: (l) => out.line(c.dim(l)),
      warn: (m) => out.warn(c.yellow(`! ${m}`)),
    });
    try {
      const { info } = dev;
      out.line(`${c.bold("Lakitu dev:")} ${dev.url}`);
      out.line(c.dim(`  model ${info.model} · sandboxes: ${info.isolation === "bwrap" ? "bubblewrap" : "no isolation"} · run history is not kept (in memory; declared boards are recreated on each start)`));
      const keys = info.model === "scripted" ? MODEL_KEYS.filter(([name]) => io.env[name]) : [];
      if (keys.length > 0) {
        // Never spent without asking: a key in the environment only offers the real model.
        out.line(c.dim(`  ${keys.map(([name]) => name).join(", ")} set: --model ${keys.map(([, example]) => example).join(" or ")} runs agents on it`));
      }
      out.line(
        dev.boardsFile
          ? `  ${info.boards.length} board${info.boards.length === 1 ? "" : "s"} from ${dev.boardsFile.path}`
          : c.dim(`  no boards file (${DEFAULT_BOARDS_FILE}): starting with no boards; create one in the dashboard`),
      );
      out.line(c.dim("  Ctrl-C to stop"));
      await new Promise<void>((resolve) => {
        if (io.signal.aborted) return resolve();
        io.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      out.line(c.dim("stopping: closing the server, the deployment and every sandbox"));
      return { ok: true, data: { url: dev.url, ...info } };
    } catch (e) {
      throw e instanceof CliError ? e : new CliError(e instanceof Error ? e.message : String(e));
    } finally {
      await dev.close();
    }
  },
});

/** Model keys `lakitu dev` recognizes in the environment, each with an example `--model` that uses it. */
const MODEL_KEYS: ReadonlyArray<readonly [string, string]> = [
  ["ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"],
  ["OPENAI_API_KEY", "openai/gpt-5-mini"],
  ["OPENROUTER_API_KEY", "openrouter/openai/gpt-5-mini"],
];
