/**
 * A sandbox killed for crossing a resource limit. The local sandbox host says so in its 404 for the
 * sandbox (`sandbox X was killed by the host: memory limit 1 GiB exceeded (used …)`); the provider's
 * `status` passes that on as `reason`, and the watchdog ends the run with `sandbox_limit_<limit>`.
 */
export const SANDBOX_LIMITS = ["memory", "processes", "disk", "shm", "cpu"] as const;
export type SandboxLimit = (typeof SANDBOX_LIMITS)[number];

const MARKER = /killed by the host: (memory|processes|disk|shm|cpu) limit/;

/** The limit a provider's `reason` names, if any. */
export function limitOf(reason: string | undefined): SandboxLimit | undefined {
  return reason ? (MARKER.exec(reason)?.[1] as SandboxLimit | undefined) : undefined;
}
