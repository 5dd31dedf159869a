/**
 * `lakitu publish`: builds (as `lakitu build`), then builds the template on E2B with the SDK's
 * `Template.build`, streaming its logs, tags it with the build's content version, records it in
 * `.lakitu/template.json`, and pins the component to it (`config:configure { template,
 * templateVersion, appKsas }`: the app's KSA names, which stages may then list) on the configured
 * deployment — or prints the command that does.
 */
import { join } from "node:path";
import { AuthenticationError, BuildError, type LogEntry } from "e2b";
import { buildTemplate } from "../../template/build.js";
import { lakituPackage } from "../build/packageRoot.js";
import { defineCommand } from "../command.js";
import { callComponent, convexRunCommand, findDeployment } from "../deploy/deployment.js";
import { CliError, UsageError } from "../errors.js";
import { writeFilesAtomically } from "../fs/atomic.js";
import type { Out } from "../io.js";
import { c } from "../output.js";
import { appEnv } from "../project/dotenv.js";
import { appRoot, buildApp } from "./build.js";

export const TEMPLATE_RECORD = ".lakitu/template.json";
const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export type TemplateRecord = {
  name: string;
  templateId: string;
  buildId: string;
  /** The content version of the build (`lakitu build`), also a tag of this E2B build. */
  version: string;
  /** What a sandbox is created from to get exactly this build. */
  ref: string;
  tags: string[];
  cpuCount: number;
  memoryMB: number;
  lakitu: string;
  publishedAt: string;
};

export const publish = defineCommand({
  spec: {
    name: "publish",
    summary: "Builds the sandbox template on E2B (Template.build) and pins the component's runs to it.",
    flags: {
      name: { type: "string", placeholder: "template", description: "E2B template name (default: LAKITU_E2B_TEMPLATE, else \"lakitu\")" },
      cpu: { type: "integer", placeholder: "n", min: 1, max: 64, description: "vCPUs per sandbox (default 2)" },
      memory: { type: "integer", placeholder: "MB", min: 512, max: 65536, description: "memory per sandbox in MB, even (default 2048)" },
      "skip-configure": { type: "boolean", description: "only build and record; do not pin the deployment's component config" },
    },
    details: `Needs E2B_API_KEY (environment or .env.local). Writes .lakitu/template.json and sets the
component's template and templateVersion on the deployment when one is configured (CONVEX_DEPLOYMENT,
or CONVEX_URL with CONVEX_ADMIN_KEY); otherwise prints the npx convex run command that does.`,
  },
  async run({ flags }, io, out) {
    const root = appRoot(io.cwd);
    const env = appEnv(root, io.env);
    const apiKey = env.E2B_API_KEY;
    if (!apiKey) {
      throw new CliError(
        "E2B_API_KEY is not set",
        "create a key at https://e2b.dev/dashboard?tab=keys, then `export E2B_API_KEY=e2b_...` (or add E2B_API_KEY=... to .env.local) and run lakitu publish again",
        "missing_key",
      );
    }
    const name = flags.name ?? env.LAKITU_E2B_TEMPLATE ?? "lakitu";
    if (!TEMPLATE_NAME.test(name)) throw new UsageError(`lakitu publish: template name "${name}" must be lowercase letters, digits, - and _ (at most 63)`);
    const cpuCount = flags.cpu ?? 2;
    const memoryMB = flags.memory ?? 2048;
    if (memoryMB % 2 !== 0) throw new UsageError(`lakitu publish: --memory must be an even number of MB, got ${memoryMB}`);

    const build = await buildApp(root, out);
    out.line(`${c.bold("lakitu publish")} ${name}:${build.version} ${c.dim(`(${cpuCount} vCPU, ${memoryMB} MB) on ${env.E2B_API_URL ?? `E2B (${env.E2B_DOMAIN ?? "e2b.app"})`}`)}`);
    const t0 = Date.now();
    const info = await buildTemplate({
      contextDir: join(root, ".lakitu", "build"),
      name,
      tags: [build.version],
      cpuCount,
      memoryMB,
      apiKey,
      apiUrl: env.E2B_API_URL,
      domain: env.E2B_DOMAIN,
      onLog: (entry) => printLog(out, entry, t0),
      signal: io.signal,
    }).catch((e: unknown) => {
      throw publishError(e);
    });

    const record: TemplateRecord = {
      name,
      templateId: info.templateId,
      buildId: info.buildId,
      version: build.version,
      ref: `${name}:${build.version}`,
      tags: info.tags ?? [],
      cpuCount,
      memoryMB,
      lakitu: lakituPackage().version,
      publishedAt: new Date().toISOString(),
    };
    writeFilesAtomically([{ path: join(root, TEMPLATE_RECORD), content: `${JSON.stringify(record, null, 2)}\n` }]);
    out.line(`  ${c.green("✔")} built ${c.bold(record.ref)} ${c.dim(`template ${record.templateId}, build ${record.buildId}, ${((Date.now() - t0) / 1000).toFixed(1)}s`)}`);
    out.line(`  ${c.green("✔")} recorded in ${TEMPLATE_RECORD}`);
    // The app's KSA names go with the template: the component then accepts them in stages' allowedKsas.
    const configure = { template: name, templateVersion: build.version, appKsas: build.ksas.project.map((k) => k.name) };
    const pinned = await pin(configure, flags["skip-configure"], env, root, out, io.signal);
    return { ok: true, data: { template: record, configure, command: convexRunCommand("config:configure", configure), pinned } };
  },
});

async function pin(
  configure: { template: string; templateVersion: string; appKsas: string[] },
  skip: boolean,
  env: Record<string, string | undefined>,
  root: string,
  out: Out,
  signal: AbortSignal,
): Promise<string | false> {
  const command = convexRunCommand("config:configure", configure);
  const { deployment, why } = findDeployment(env, root);
  if (skip || !deployment) {
    out.line(`${c.yellow("!")} ${skip ? "not pinned (--skip-configure)" : `not pinned: ${why}`}. Pin the component's runs to this build with:`);
    out.line(`    ${command}`);
    return false;
  }
  try {
    await callComponent(deployment, "config:configure", configure, signal);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new CliError(`the template is built and recorded, but pinning it failed: ${message}`, `run: ${command}`, "deployment");
  }
  out.line(`  ${c.green("✔")} pinned on ${deployment.label}: new runs use ${configure.template}:${configure.templateVersion}`);
  return deployment.label;
}

function printLog(out: Out, entry: LogEntry, t0: number): void {
  const at = c.dim(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`);
  const text = entry.level === "error" ? c.red(entry.message) : entry.level === "warn" ? c.yellow(entry.message) : entry.message;
  out.line(`  ${at} ${text}`);
}

function publishError(e: unknown): CliError {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof AuthenticationError || /\b401\b|unauthori[sz]ed|invalid api key/i.test(message)) {
    return new CliError(`E2B rejected the API key: ${message}`, "check E2B_API_KEY (https://e2b.dev/dashboard?tab=keys)", "auth");
  }
  if (e instanceof BuildError) return new CliError(`the template build failed on E2B: ${message}`, "the build logs above say which step failed", "build_failed");
  if ((e as Error)?.name === "AbortError") return new CliError("publish was interrupted; the E2B build may still finish on its own", undefined, "interrupted");
  return new CliError(`publishing the template failed: ${message}`, undefined, "publish_failed");
}
