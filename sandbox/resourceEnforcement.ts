/**
 * Wires a host's resource limits together: cgroups when the host can create them (cgroupLimits.ts),
 * the polling monitor always (resourceMonitor.ts), and the registry's limit kill with its tombstone.
 */
import { CgroupLimiter } from "./cgroupLimits.js";
import { ResourceMonitor, type SandboxUsage } from "./resourceMonitor.js";
import { limitKillMessage, type ResourceLimits } from "./sandboxLimits.js";
import type { SandboxRegistry } from "./sandboxes.js";
import { pidExists } from "./procfs.js";

export type ResourceEnforcement = {
  /** How the limits are enforced, for the host's report. */
  describe: string;
  /** Whether sandboxes get cgroups. */
  cgroups: boolean;
  usage(sandboxId: string): SandboxUsage | undefined;
  stop(): void;
};

export function enforceResourceLimits(opts: {
  limits: ResourceLimits;
  registry: SandboxRegistry;
  /** Size of each command's /dev/shm tmpfs (bwrap only), else undefined. */
  shmTmpfsBytes: number | undefined;
  /** Use cgroups when possible (default true). */
  cgroups: boolean;
  warn: (message: string) => void;
}): ResourceEnforcement {
  const { limits, registry, warn } = opts;
  const detected = opts.cgroups ? CgroupLimiter.detect(limits) : { reason: "disabled by the cgroups option" };
  const cgroups = detected.limiter;
  if (cgroups) {
    cgroups.reconcile(pidExists);
    registry.hooks = {
      created: (s) => {
        cgroups.create(s.id);
        return (plan) => cgroups.wrap(s.id, plan);
      },
      gone: (s) => cgroups.remove(s.id),
    };
  }
  const monitor = new ResourceMonitor(
    limits,
    () => registry.all(),
    opts.shmTmpfsBytes,
    (s, violation) => registry.killForLimit(s.id, limitKillMessage(s.id, violation)),
    warn,
    cgroups,
  );
  monitor.start();
  return {
    describe: `${cgroups ? `kernel: ${cgroups.describe()}; ` : `no cgroups (${detected.reason}); `}polled every ${limits.pollIntervalMs} ms`,
    cgroups: cgroups !== undefined,
    usage: (id) => monitor.usage(id),
    stop: () => monitor.stop(),
  };
}
