/**
 * `lakitu sandbox serve`: the local sandbox host (sandbox/host.ts) speaking E2B's wire protocol on
 * this machine, with the runtime bundle mounted at /opt/lakitu/runtime, until SIGINT/SIGTERM. It
 * prints what to set so the E2B SDK — and the app's provider action — use it instead of E2B.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseUpstream } from "../../sandbox/componentBridge.js";
import { startSandboxHost, type IsolationMode } from "../../sandbox/index.js";
import { RUNTIME_DIR } from "../../template/template.js";
import { lakituPackage } from "../build/packageRoot.js";
import { defineCommand } from "../command.js";
import { CliError, UsageError } from "../errors.js";
import { describeLimits, LIMIT_FLAGS, limitsFromFlags } from "./sandboxLimitFlags.js";
import { c } from "../output.js";

export const DEFAULT_PORT = 4610;

export const sandboxServe = defineCommand({
  spec: {
    name: "sandbox serve",
    summary: "Runs the local sandbox host: E2B's API on this machine, each sandbox a process tree in its own workspace, isolated with bubblewrap.",
    flags: {
      port: { type: "integer", placeholder: "n", min: 0, max: 65535, description: `port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 picks a free one)` },
      isolation: {
        type: "string",
        placeholder: "mode",
        choices: ["auto", "bwrap", "none"],
        description: "sandbox isolation (default auto: bubblewrap, refusing to start without it; none only when chosen)",
      },
      "component-url": {
        type: "string",
        placeholder: "url",
        description: "the component's origin; each sandbox reaches it (and only it) through /run/lakitu/component.sock",
      },
      "shared-network": { type: "boolean", description: "give sandboxes the host's network instead of none (for your own SDK code)" },
      runtime: { type: "string", placeholder: "dir", description: "runtime bundle to mount (default .lakitu/build/runtime, else the package's)" },
      "api-key": { type: "string", placeholder: "key", description: "key clients must send (default: LAKITU_SANDBOX_API_KEY, else random)" },
      ...LIMIT_FLAGS,
    },
    details: `Runs until Ctrl-C (SIGINT) or SIGTERM, then kills every sandbox it started. With --json it prints
one JSON line when ready and one document when stopped.`,
  },
  async run({ flags }, io, out) {
    try {
      parseUpstream(flags["component-url"], "--component-url");
    } catch (e) {
      throw new UsageError(`lakitu sandbox serve: ${(e as Error).message}`, "pass the component's origin, e.g. --component-url http://127.0.0.1:3211");
    }
    const resourceLimits = limitsFromFlags(flags);
    const runtimeDir = findRuntime(io.cwd, flags.runtime);
    const host = await startSandboxHost({
      ...resourceLimits,
      port: flags.port ?? DEFAULT_PORT,
      isolation: (flags.isolation ?? "auto") as IsolationMode,
      apiKey: flags["api-key"] ?? io.env.LAKITU_SANDBOX_API_KEY,
      componentUrl: flags["component-url"],
      sharedNetwork: flags["shared-network"] === true,
      mounts: [{ hostPath: runtimeDir, sandboxPath: RUNTIME_DIR }],
      warn: (m) => out.warn(c.yellow(`! ${m}`)),
    }).catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException)?.code;
      if (code === "EADDRINUSE") throw new CliError(`port ${flags.port ?? DEFAULT_PORT} is in use`, "pass --port <n> (or --port 0 for any free one)", "port_in_use");
      if (code === "isolation_unavailable")
        throw new CliError((e as Error).message.replace(/^lakitu sandbox: /, ""), "install bubblewrap, or pass --isolation none to run sandboxes without isolation", "isolation_unavailable");
      throw new CliError(`the sandbox host did not start: ${(e as Error)?.message ?? String(e)}`, undefined, "host");
    });
    const main = host.isolation === "bwrap" ? `${RUNTIME_DIR}/main.js` : join(runtimeDir, "main.js");
    const env = {
      E2B_API_URL: host.url,
      E2B_SANDBOX_URL: host.url,
      E2B_API_KEY: host.apiKey,
      // This machine's node: a sandbox's PATH (scrubbed environment) may not find an nvm-style install.
      LAKITU_RUNTIME_COMMAND: `${process.execPath} ${main}`,
    };
    const ready = { url: host.url, apiKey: host.apiKey, isolation: host.isolation, network: host.network, componentUrl: host.componentUrl ?? null, runtimeDir, env };
    if (out.json) io.stdout(`${JSON.stringify({ ok: true, event: "ready", ...ready })}\n`);
    out.line(`${c.bold("Lakitu sandbox host")} ${host.url} ${c.dim(`(isolation: ${host.isolation === "bwrap" ? "bubblewrap" : "none"}, ${host.processLimit})`)}`);
    out.line(`  runtime ${runtimeDir} ${c.dim(`→ ${RUNTIME_DIR}`)}`);
    out.line(`  limits per sandbox: ${describeLimits(host.limits)} ${c.dim(`(${host.resourceEnforcement})`)}`);
    out.line(
      `  network ${host.network === "isolated" ? "none (only lo)" : c.yellow("the host's (--shared-network)")}; component ${host.componentUrl ?? c.yellow("not set (--component-url): the bridge answers 502")}`,
    );
    out.line("Point the E2B SDK (and your app's provider action) at it:");
    for (const [k, v] of Object.entries(env)) out.line(`  ${k}=${v.includes(" ") ? JSON.stringify(v) : v}`);
    out.line(c.dim("  For a local deployment (npx convex dev --local): npx convex env set <NAME> <value> for each line above."));
    out.line(c.dim("  Check it: lakitu status --sandboxes (with these variables set). Ctrl-C stops the host and kills its sandboxes."));
    await untilAborted(io.signal);
    const left = host.list().length;
    await host.close();
    out.line(`Stopped${left ? `; killed ${left} sandbox(es)` : ""}.`);
    return { ok: true, data: { ...ready, stopped: true, killed: left } };
  },
});

function findRuntime(cwd: string, given: string | undefined): string {
  if (given !== undefined) {
    const dir = resolve(cwd, given);
    if (!existsSync(join(dir, "main.js"))) throw new CliError(`--runtime ${given}: no main.js in ${dir}`, "pass the folder lakitu build wrote (.lakitu/build/runtime)", "no_runtime");
    return dir;
  }
  const candidates = [join(cwd, ".lakitu", "build", "runtime"), join(lakituPackage().root, "runtime", "dist")];
  const found = candidates.find((d) => existsSync(join(d, "main.js")));
  if (!found) throw new CliError("no sandbox runtime bundle to mount", "run npx lakitu build in your app (it writes .lakitu/build/runtime), or npm run build:runtime in a clone of lakitu (it writes runtime/dist)", "no_runtime");
  return found;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
