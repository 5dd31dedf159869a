/**
 * `lakitu sandbox serve`'s per-sandbox resource limit flags (see sandbox/sandboxLimits.ts): declared
 * here, turned into the host's `limits` option, bad values refused as usage errors naming the flag.
 */
import { DEFAULT_RESOURCE_LIMITS, formatBytes, formatMs, LimitConfigError, parseByteSize, parseDurationMs, resolveLimits, type ResourceLimits } from "../../sandbox/sandboxLimits.js";
import type { Flags } from "../args.js";
import { UsageError } from "../errors.js";

const D = DEFAULT_RESOURCE_LIMITS;

export const LIMIT_FLAGS = {
  memory: { type: "string", placeholder: "size", description: `memory per sandbox, e.g. 512MiB, or off (default ${formatBytes(D.memoryBytes)})` },
  disk: { type: "string", placeholder: "size", description: `disk per sandbox: home, workspace and /tmp (default ${formatBytes(D.diskBytes)})` },
  "disk-files": { type: "integer", placeholder: "n", min: 16, description: `files per sandbox (default ${D.diskEntries})` },
  shm: { type: "string", placeholder: "size", description: `/dev/shm per sandbox (default ${formatBytes(D.shmBytes)})` },
  cpu: { type: "string", placeholder: "time", description: `CPU time per sandbox, e.g. 90s, 30min, or off (default ${formatMs(D.cpuMs)})` },
  processes: { type: "integer", placeholder: "n", min: 4, description: `processes and threads per sandbox (default ${D.maxProcesses})` },
  "no-cgroups": { type: "boolean", description: "do not give sandboxes cgroups (limits are then only polled)" },
} as const satisfies Flags;

type LimitFlagValues = {
  memory?: string;
  disk?: string;
  "disk-files"?: number;
  shm?: string;
  cpu?: string;
  processes?: number;
  "no-cgroups"?: boolean;
};

/** The host options for the flags given; a `UsageError` naming the flag for a bad value. */
export function limitsFromFlags(flags: LimitFlagValues): { limits: Partial<ResourceLimits>; cgroups: boolean } {
  try {
    const limits: Partial<ResourceLimits> = {};
    if (flags.memory !== undefined) limits.memoryBytes = parseByteSize("--memory", flags.memory);
    if (flags.disk !== undefined) limits.diskBytes = parseByteSize("--disk", flags.disk);
    if (flags["disk-files"] !== undefined) limits.diskEntries = flags["disk-files"];
    if (flags.shm !== undefined) limits.shmBytes = parseByteSize("--shm", flags.shm);
    if (flags.cpu !== undefined) limits.cpuMs = parseDurationMs("--cpu", flags.cpu);
    if (flags.processes !== undefined) limits.maxProcesses = flags.processes;
    resolveLimits(limits); // refuses values below the minimums
    return { limits, cgroups: flags["no-cgroups"] !== true };
  } catch (e) {
    if (!(e instanceof LimitConfigError)) throw e;
    const flag = e.field.startsWith("--") ? e.field : `--${FLAG_OF[e.field as keyof ResourceLimits] ?? e.field}`;
    throw new UsageError(`lakitu sandbox serve: ${flag}: ${e.message.slice(e.field.length + 2)}`, "sizes take KiB, MiB or GiB (e.g. 512MiB), times s, min or h (e.g. 10min); off turns a limit off");
  }
}

const FLAG_OF: Partial<Record<keyof ResourceLimits, string>> = {
  memoryBytes: "memory",
  diskBytes: "disk",
  diskEntries: "disk-files",
  shmBytes: "shm",
  cpuMs: "cpu",
  maxProcesses: "processes",
};

/** One line for the host's banner: the limits every sandbox gets. */
export function describeLimits(l: ResourceLimits): string {
  const b = (n: number) => (n === Infinity ? "off" : formatBytes(n));
  return `memory ${b(l.memoryBytes)}, disk ${b(l.diskBytes)} / ${l.diskEntries === Infinity ? "any number of" : l.diskEntries} files, /dev/shm ${b(l.shmBytes)}, CPU ${l.cpuMs === Infinity ? "off" : formatMs(l.cpuMs)}, ${l.maxProcesses} processes`;
}
