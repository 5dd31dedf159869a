/**
 * Builds the sandbox template on E2B with the SDK (`Template.build`), as `lakitu publish` does:
 * the build output folder (from `lakitu build`) is the file context, the runtime in it is uploaded,
 * and the build is tagged with its content version so runs can pin it (`<name>:<version>`).
 *
 *   npx tsx template/build.ts <build dir> <name> [version]     (needs E2B_API_KEY)
 */
import { pathToFileURL } from "node:url";
import { Template, type BuildInfo, type LogEntry } from "e2b";
import { lakituTemplate } from "./template.js";

export type TemplateBuildOptions = {
  /** The `lakitu build` output folder (holds `runtime/`). */
  contextDir: string;
  /** E2B template name (alias), e.g. "lakitu". */
  name: string;
  /** Extra tags; `lakitu publish` passes the build's content version. */
  tags?: string[];
  /** Default: E2B's (2 CPUs). */
  cpuCount?: number;
  /** Default: E2B's (512 MB). Must be even. */
  memoryMB?: number;
  apiKey: string;
  /** For a compatible API (tests, self-hosted). Default `E2B_API_URL` or `https://api.<domain>`. */
  apiUrl?: string;
  domain?: string;
  onLog?: (entry: LogEntry) => void;
  signal?: AbortSignal;
};

export async function buildTemplate(opts: TemplateBuildOptions): Promise<BuildInfo> {
  return await Template.build(lakituTemplate({ contextDir: opts.contextDir }), opts.name, {
    tags: opts.tags?.length ? opts.tags : undefined,
    cpuCount: opts.cpuCount,
    memoryMB: opts.memoryMB,
    apiKey: opts.apiKey,
    apiUrl: opts.apiUrl,
    domain: opts.domain,
    onBuildLogs: opts.onLog,
    signal: opts.signal,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [contextDir, name, version] = process.argv.slice(2);
  const apiKey = process.env.E2B_API_KEY;
  if (!contextDir || !name || !apiKey) {
    console.error("usage: E2B_API_KEY=... npx tsx template/build.ts <build dir> <name> [version]");
    process.exit(2);
  }
  const info = await buildTemplate({ contextDir, name, tags: version ? [version] : [], apiKey, onLog: (e) => console.log(e.toString()) });
  console.log(JSON.stringify(info));
}
