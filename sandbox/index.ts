/** Lakitu's local sandbox host (E2B wire protocol on loopback). See host.ts. */
export {
  startSandboxHost,
  type SandboxHost,
  type SandboxHostOptions,
  type SandboxSummary,
  type IsolationMode,
  type ReadOnlyMount,
} from "./host.js";
export { NO_BWRAP_WARNING } from "./isolation.js";
