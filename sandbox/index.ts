/** Lakitu's local sandbox host (E2B wire protocol on loopback). See host.ts. */
export {
  startSandboxHost,
  type SandboxHost,
  type SandboxHostOptions,
  type SandboxSummary,
  type IsolationMode,
  type ReadOnlyMount,
} from "./host.js";
export { IsolationUnavailableError, NO_BWRAP_ERROR, NO_BWRAP_WARNING, NO_ISOLATION_WARNING, type NetworkMode } from "./isolation.js";
export { COMPONENT_SOCKET, COMPONENT_SOCKET_ENV, InvalidHostOptionError } from "./componentBridge.js";
export {
  DEFAULT_RESOURCE_LIMITS,
  LIMIT_KILL_MARKER,
  LimitConfigError,
  limitOfMessage,
  type LimitName,
  type ResourceLimits,
} from "./sandboxLimits.js";
