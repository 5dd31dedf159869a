/**
 * The sandbox runtime's entry point: `node runtime/dist/main.js` (or `tsx runtime/main.ts`).
 *
 * Exit codes: 0 when the run was reported (succeeded, failed or canceled) or is no longer ours;
 * 1 on an internal error; 2 when the environment is missing or invalid (one line per problem on
 * stderr, naming the variable). SIGTERM/SIGINT: stop the step, upload, report `canceled`, exit 0 within
 * a couple of seconds. The token is removed from `process.env` as soon as it is read and never printed.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseEnv, tokenFromFile } from "./env.js";
import { redactor } from "./redact.js";
import { runRuntime, type RuntimeOptions } from "./run.js";

/** After a signal, exit no later than this even if the component does not answer. */
const HARD_EXIT_MS = 4_000;

export async function main(options: Pick<RuntimeOptions, "ksaModule" | "retry" | "flushMs"> = {}): Promise<number> {
  const fromFile = tokenFromFile(process.env);
  const parsed = parseEnv(fromFile.env);
  const secret = fromFile.env.LAKITU_TOKEN ?? "";
  const redact = redactor([secret]);
  const print = (line: string) => process.stderr.write(`[lakitu] ${redact(line)}\n`);
  if (fromFile.problem || !parsed.ok) {
    for (const p of [...(fromFile.problem ? [fromFile.problem] : []), ...(parsed.ok ? [] : parsed.problems)]) print(`invalid environment: ${p}`);
    return 2;
  }
  const env = parsed.env;
  // Nothing started from here on (KSA shells, agent code) inherits the token.
  delete process.env.LAKITU_TOKEN;
  try {
    process.chdir(env.workspace);
  } catch (e) {
    print(`invalid environment: LAKITU_WORKSPACE (the workspace directory): cannot enter ${env.workspace}: ${(e as Error).message}`);
    return 2;
  }

  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancel.signal.aborted) return;
    print(`${signal}: stopping`);
    cancel.abort();
    setTimeout(() => {
      print(`did not finish within ${HARD_EXIT_MS} ms of ${signal}; exiting`);
      process.exit(0);
    }, HARD_EXIT_MS).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  print(`run ${env.runId} (session ${env.sessionId}, generation ${env.generation}) starting in ${env.workspace}`);
  try {
    const outcome = await runRuntime(env, { ...options, signal: cancel.signal, log: print });
    print(`done: ${outcome.status}${outcome.error ? ` (${outcome.error})` : ""}`);
    return 0;
  } catch (e) {
    print(`internal error: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

function isEntry(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(argv1)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  const code = await main();
  // Exit explicitly: a leftover socket or timer must not keep a finished sandbox alive.
  process.exit(code);
}
