/**
 * Lakitu's local sandbox host: E2B's wire protocol on one loopback HTTP server, so the official `e2b`
 * SDK — pointed at it with `apiUrl` and `sandboxUrl` — drives local sandboxes exactly as it drives E2B.
 *
 * Implemented subset (e2b SDK 2.51; the feature-by-feature table is in README.md):
 *
 * Control plane (see controlPlane.ts; `X-API-KEY` required, 401 otherwise):
 *   POST /v2/sandboxes · GET /v2/sandboxes (metadata/state/template/startedAfter filters, order,
 *   limit + X-Next-Token pagination) · GET /sandboxes/{id} · DELETE /sandboxes/{id} ·
 *   POST /sandboxes/{id}/timeout · POST /sandboxes/{id}/refreshes · POST /v2/sandboxes/{id}/connect ·
 *   POST /sandboxes/{id}/pause (400: not supported). Timeouts over the maximum (24 h) are refused, not
 *   clamped. Metrics, logs, snapshots, fork, network rules: 501 naming the feature; the rest 501.
 *
 * envd (requests with `e2b-sandbox-id`; `x-access-token` must be the sandbox's envdAccessToken; an
 * unknown or killed sandbox answers 502 as E2B's proxy does; see envd.ts):
 *   GET /health · process.Process/{Start, Connect} (Connect streaming, JSON, with backpressure) ·
 *   process.Process/{List, SendSignal, SendInput, CloseStdin} · GET /files · POST /files (gzip both
 *   ways). Signed /files URLs (SDK `uploadUrl`/`downloadUrl`) need no header: the signature names the
 *   sandbox. The `user` option is honoured for `user` and `root` and refused for any other user.
 *   filesystem.Filesystem/{Stat, ListDir, MakeDir, Remove, Move, WatchDir} (filesystem.ts, fsWatch.ts).
 *   Not implemented: PTY, StreamInput, metrics, logs, snapshots, templates, volumes.
 *
 * Sandboxes (see sandboxes.ts, isolation.ts, sandboxUsers.ts): a directory
 * `<root>/<id>/{home,workspace,tmp,root,run}` seen inside as `/home/user` (the default cwd and the base
 * of relative file paths, as on E2B), `/home/user/workspace`, `/tmp`, `/root` and `/run/lakitu`; every
 * command under bubblewrap (the host refuses to start without it unless isolation `none` is explicit),
 * without network, as `user` or `root` — own host uids for root, user and lakitu-agent when the host
 * runs as root; the component reached only through the bridge socket (componentBridge.ts); killed
 * (SIGKILL of every process, then the directory removed) on DELETE, on timeout and on `close()`. On
 * start the host removes the directories a crashed host left in its root.
 *
 * Resource limits (sandboxLimits.ts, resourceEnforcement.ts): memory, processes, disk, /dev/shm and CPU
 * time per sandbox, sampled by resourceMonitor.ts and, when the host can, held by cgroups
 * (cgroupLimits.ts); a sandbox that crosses one is killed and GET /sandboxes/{id} answers 404 naming it.
 *
 * Processes (sandboxInit.ts): as in one E2B VM, all commands of a sandbox share one pid namespace (and
 * its mount and network namespaces), made by the sandbox's init when it is created: pids are in-sandbox
 * pids, commands see and signal each other, and a daemon outlives its command until the sandbox ends.
 * A command whose sandbox is killed (DELETE, timeout) ends its stream with `unavailable`, which the SDK
 * raises as `TimeoutError`, as on E2B; one killed for a resource limit ends with 137 and the limit.
 *
 * Known differences from E2B: no network (unless `sharedNetwork`); the files API reaches
 * /home/user, /tmp and /root only (so does the filesystem RPC service); pause/resume and PTY are absent; `commands.list()` does not
 * echo envs; pid 1 is bwrap's init (not systemd/envd). As on E2B: a Start call's timeout (`timeoutMs`, SDK default 60 s)
 * kills the command; a sandbox whose processes all exited stays `running` until killed or timed out (as an E2B VM does).
 *
 * Without bwrap (none mode) paths inside commands are host paths (cwd and HOME point at the sandbox's
 * directories, but `/home/user/...` in a command line does not exist), mounts are not applied, and a
 * process that leaves its process group can escape the kill unless the sandbox has its own uid.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, realpathSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { handleControlPlane } from "./controlPlane.js";
import { checkSignature, handleEnvd, type EnvdLimits } from "./envd.js";
import { header, sameSecret, sendError, sendJson } from "./httpUtil.js";
import { parseUpstream } from "./componentBridge.js";
import { Isolation, type IsolationMode, type NetworkMode, type ReadOnlyMount } from "./isolation.js";
import { listProcesses } from "./procfs.js";
import { enforceResourceLimits } from "./resourceEnforcement.js";
import type { SandboxUsage } from "./resourceMonitor.js";
import { resolveLimits, shmTmpfsBytes, type ResourceLimits } from "./sandboxLimits.js";
import { SandboxRegistry } from "./sandboxes.js";

export type { IsolationMode, NetworkMode, ReadOnlyMount } from "./isolation.js";

export type SandboxHostOptions = {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** The key clients must send as `X-API-KEY`. Default: random. */
  apiKey?: string;
  /** Where sandbox directories live. Default `os.tmpdir()/lakitu-sandboxes`. */
  root?: string;
  /**
   * Default `auto`: bubblewrap, and the host refuses to start when it is missing or does not work (the
   * error says how to install it). `none` (explicit only) runs sandboxes unisolated, with a warning.
   */
  isolation?: IsolationMode;
  /**
   * The component's origin (e.g. the deployment's `.convex.site` URL, or the embedded deployment's
   * loopback URL). Each sandbox's bridge socket (/run/lakitu/component.sock, root only) forwards every
   * request to this origin and nowhere else. Unset: the bridge answers 502.
   */
  componentUrl?: string;
  /**
   * Share the host's network with sandboxes instead of giving each one its own network namespace with
   * only `lo`. Default false. For users running their own SDK code that needs the network; Lakitu's
   * runtime needs only the bridge.
   */
  sharedNetwork?: boolean;
  /** Read-only host paths mapped into every sandbox (bwrap only), e.g. the runtime at /opt/lakitu. */
  mounts?: ReadOnlyMount[];
  /** Accepted template names (others: 404 as on E2B). Default: any. */
  templates?: string[];
  /** Default 64; beyond it create answers 429 with Retry-After. */
  maxSandboxes?: number;
  /** Concurrently running commands per sandbox. Default 16. */
  maxCommandsPerSandbox?: number;
  /**
   * RLIMIT_NPROC for sandbox processes (per sandbox with own uids, else per command); a sandbox that
   * reaches it is killed. Default 256 (also settable as `limits.maxProcesses`).
   */
  maxProcesses?: number;
  /**
   * Per-sandbox resource limits (see sandboxLimits.ts and README.md); a sandbox that crosses one is
   * killed and GET /sandboxes/{id} answers 404 naming the limit. Defaults: memory 1 GiB, disk 1 GiB
   * and 200 000 files, /dev/shm 64 MiB, CPU 10 min; `Infinity` turns one off.
   */
  limits?: Partial<ResourceLimits>;
  /** Give each sandbox memory and pids cgroups when the host can (root, cgroup v1). Default true. */
  cgroups?: boolean;
  /** Output queued for one slow stream client before the command is paused (backpressure). Default 4 MiB. */
  maxBufferedOutputBytes?: number;
  /** Largest files.write body. Default 100 MiB. */
  maxUploadBytes?: number;
  /** Sandbox timeout when create names none, seconds. Default 300 (E2B's). */
  defaultTimeoutSeconds?: number;
  /** Longest sandbox timeout, seconds. Default 86 400. */
  maxTimeoutSeconds?: number;
  /** Retry-After of the 429 at maxSandboxes, seconds. Default 1. */
  retryAfterSeconds?: number;
  /**
   * When the host runs as root, give each sandbox's root, user and lakitu-agent their own unprivileged
   * host uids (a user namespace per command maps 0, 1000 and 1001 onto them). Default true; false makes
   * the three one uid, as on a host not running as root.
   */
  perSandboxUid?: boolean;
  /** Where warnings go. Default console.warn. */
  warn?: (message: string) => void;
};

export type SandboxSummary = {
  sandboxId: string;
  templateId: string;
  metadata: Record<string, string>;
  startedAt: Date;
  endAt: Date;
  /** Host directory of the sandbox's /home/user/workspace. */
  workspace: string;
  /** Host directory holding home, workspace and tmp (removed on kill). */
  dir: string;
  /** Host uid of the sandbox's `user` (1000), when the sandbox has own uids. */
  uid: number | undefined;
  /** Host uids of the sandbox's root, user and lakitu-agent, when it has own uids. */
  ids: { root: number; user: number; agent: number } | undefined;
  /** Host path of the sandbox's component bridge socket (/run/lakitu/component.sock inside). */
  componentSocket: string | undefined;
  /**
   * Host pids of every live process in the sandbox (under bwrap: in its namespaces). Not the host-side
   * helpers that hold them (bwrap, each command's nsenter), which exit on their own once those end:
   * killing one of them with its child would leave the child a zombie of the host's init.
   */
  pids: number[];
  /**
   * The commands still running: pid (in-sandbox under bwrap, as the SDK sees it), host pid of the
   * spawned process, what runs, and when its Start deadline kills it (if any).
   */
  commands: Array<{ pid: number; hostPid: number; cmd: string; args: string[]; deadlineAt: Date | undefined }>;
};

export type SandboxHost = {
  url: string;
  apiKey: string;
  /** What sandboxes actually get. */
  isolation: "bwrap" | "none";
  /** `isolated` (own network namespace, only `lo`; bwrap) or `shared` (the host's network). */
  network: NetworkMode;
  /** Where the bridge forwards (an origin), if set. */
  componentUrl: string | undefined;
  /** True when each sandbox has its own host uids for root, user and lakitu-agent (host running as root). */
  ownUids: boolean;
  /** How sandbox processes are limited (human-readable). */
  processLimit: string;
  /** The resource limits every sandbox gets. */
  limits: ResourceLimits;
  /** How the limits are enforced (human-readable): cgroups or not, polling interval. */
  resourceEnforcement: string;
  /** A sandbox's resource usage at the monitor's last sample (undefined before the first). */
  usage(sandboxId: string): SandboxUsage | undefined;
  root: string;
  list(): SandboxSummary[];
  /** Kills every sandbox and stops the server. */
  close(): Promise<void>;
};

const warnedOnce = new Set<string>();

export async function startSandboxHost(opts: SandboxHostOptions = {}): Promise<SandboxHost> {
  const warnSink = opts.warn ?? ((m: string) => console.warn(m));
  const warn = (m: string) => {
    if (opts.warn) return warnSink(m);
    if (warnedOnce.has(m)) return;
    warnedOnce.add(m);
    warnSink(m);
  };
  const rootOption = opts.root ?? path.join(os.tmpdir(), "lakitu-sandboxes");
  mkdirSync(rootOption, { recursive: true, mode: 0o755 });
  const root = realpathSync(rootOption);
  if (process.getuid?.() === 0) {
    // Sandboxes with their own uid must be able to reach their directories inside the root.
    const rootMode = statSync(root).mode & 0o7777;
    if ((rootMode & 0o011) !== 0o011) chmodSync(root, rootMode | 0o011);
  }
  const limits = resolveLimits({ ...opts.limits, ...(opts.maxProcesses !== undefined ? { maxProcesses: opts.maxProcesses } : {}) });
  const componentUpstream = parseUpstream(opts.componentUrl);
  const isolation = await Isolation.resolve({
    mode: opts.isolation ?? "auto",
    root,
    mounts: opts.mounts ?? [],
    maxProcesses: limits.maxProcesses,
    perSandboxUid: opts.perSandboxUid ?? true,
    network: opts.sharedNetwork ? "shared" : "isolated",
    warn,
  });
  // Without bwrap there is no network namespace: the network is the host's whatever was asked.
  const network: NetworkMode = isolation.kind === "bwrap" ? isolation.network : "shared";
  if (isolation.kind === "bwrap" && process.pid === 1) {
    // bwrap's init inside each sandbox is left for the host's pid 1 to reap once a command ends.
    warn("lakitu sandbox: the host runs as pid 1, which must reap orphaned processes: run it under an init (docker run --init, tini)");
  }
  const registry = new SandboxRegistry(
    root,
    isolation,
    {
      maxSandboxes: opts.maxSandboxes ?? 64,
      maxCommandsPerSandbox: opts.maxCommandsPerSandbox ?? 16,
      defaultTimeoutSeconds: opts.defaultTimeoutSeconds ?? 300,
      maxTimeoutSeconds: opts.maxTimeoutSeconds ?? 86_400,
      shmTmpfsBytes: isolation.kind === "bwrap" ? shmTmpfsBytes(limits.shmBytes) : undefined,
      // The disk limit is sampled; a single file is also stopped at it when written (EFBIG).
      maxFileBytes: Number.isFinite(limits.diskBytes) && limits.diskBytes > 0 ? limits.diskBytes : undefined,
    },
    warn,
    componentUpstream,
  );
  // Resource limits: a sandbox that crosses one is killed and leaves a tombstone naming it.
  const resources = enforceResourceLimits({ limits, registry, shmTmpfsBytes: registry.limits.shmTmpfsBytes, cgroups: opts.cgroups ?? true, warn });
  // A host that crashed left its sandboxes' directories behind: remove those no running host owns.
  registry.reconcileRoot();
  const envdLimits: EnvdLimits = {
    maxBufferedOutputBytes: opts.maxBufferedOutputBytes ?? 4 << 20,
    maxUploadBytes: opts.maxUploadBytes ?? 100 << 20,
  };
  const apiKey = opts.apiKey ?? `e2b_local_${randomBytes(20).toString("hex")}`;
  const templates = opts.templates ? new Set(opts.templates) : undefined;
  const retryAfterSeconds = opts.retryAfterSeconds ?? 1;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    const sandboxId = header(req, "e2b-sandbox-id");
    const handled =
      sandboxId !== undefined
        ? envd(req, res, url, sandboxId)
        : url.pathname === "/files" && url.searchParams.has("signature")
          ? signedFiles(req, res, url)
        : !sameSecret(header(req, "x-api-key"), apiKey)
          ? Promise.resolve(sendError(res, 401, "Invalid API key"))
          : handleControlPlane(req, res, url, { registry, templates, retryAfterSeconds, network });
    handled.catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, e instanceof Error ? e.message : String(e));
      else res.destroy();
    });
  });

  async function envd(req: http.IncomingMessage, res: http.ServerResponse, url: URL, sandboxId: string): Promise<void> {
    const sandbox = registry.get(sandboxId);
    // E2B's edge proxy answers 502 for a sandbox that is not running; the SDK reads it as "gone".
    if (!sandbox) {
      const message = registry.goneReason(sandboxId) ?? `The sandbox ${sandboxId} was not found`;
      return sendJson(res, 502, { code: 502, message, sandboxId });
    }
    const signed = url.pathname === "/files" && url.searchParams.has("signature") && header(req, "x-access-token") === undefined;
    if (signed) {
      const refused = checkSignature(req, url, sandbox.accessToken);
      if (refused) return sendError(res, refused.status, refused.message);
    } else if (!sameSecret(header(req, "x-access-token"), sandbox.accessToken)) {
      return url.pathname.includes(".")
        ? sendJson(res, 401, { code: "unauthenticated", message: "invalid access token" })
        : sendError(res, 401, "invalid access token");
    }
    return handleEnvd(req, res, url, sandbox, envdLimits);
  }

  /**
   * A URL from the SDK's `uploadUrl()`/`downloadUrl()`: no sandbox id header (on E2B it is in the
   * hostname; here every sandbox shares the host's URL), so the sandbox is the one whose access token
   * the signature was made with.
   */
  async function signedFiles(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    let expired: { status: number; message: string } | undefined;
    for (const sandbox of registry.all()) {
      const refused = checkSignature(req, url, sandbox.accessToken);
      if (!refused) return handleEnvd(req, res, url, sandbox, envdLimits);
      if (refused.status === 403) expired = refused;
    }
    return sendError(res, expired?.status ?? 401, expired?.message ?? "invalid signature: it matches no running sandbox's access token");
  }

  // Longer than the SDK's keep-alive use of idle connections, so the host never closes one under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.hostname ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    apiKey,
    isolation: isolation.kind,
    network,
    componentUrl: componentUpstream?.origin,
    ownUids: isolation.usesOwnUids,
    processLimit: isolation.describeProcessLimit(),
    limits,
    resourceEnforcement: resources.describe,
    usage: (id) => resources.usage(id),
    root,
    list: () => {
      const procs = listProcesses();
      return registry.all().map((s) => ({
        sandboxId: s.id,
        templateId: s.templateId,
        metadata: { ...s.metadata },
        startedAt: s.startedAt,
        endAt: s.endAt,
        workspace: s.dirs.workspace,
        dir: s.dirs.dir,
        uid: s.uid,
        ids: s.ids && { ...s.ids },
        componentSocket: s.bridge?.socketPath,
        pids: s.pids(procs, false),
        commands: [...s.commands.values()]
          .filter((c) => !c.exited)
          .map((c) => ({ pid: c.pid, hostPid: c.hostPid, cmd: c.config.cmd, args: [...c.config.args], deadlineAt: c.deadlineAt })),
      }));
    },
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        resources.stop();
        await registry.killAll();
        server.closeAllConnections();
        await stopped;
      })()),
  };
}
