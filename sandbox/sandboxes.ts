/**
 * The host's sandboxes: each a directory (`<root>/<id>/{home,workspace,tmp}`), a set of running
 * commands, a kill timer, when the host runs as root its own host uids, and under bwrap an init that
 * holds its namespaces (sandboxInit.ts): every command joins them, so they share one pid namespace.
 *
 * A sandbox stays `running` until it is killed (DELETE, its timeout, host close) even when all its
 * commands have exited — as on E2B, where the VM outlives its processes. It is gone once killed or once
 * its directory disappears (checked on every lookup). Killing SIGKILLs every process of it, waits for
 * them to be gone, then deletes the directory; it is idempotent. Each directory holds `host.pid`, the
 * pid of the host that owns it, so a later host can remove what a crashed one left (`reconcileRoot`).
 */
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command, type ProcessConfig } from "./commands.js";
import { ConnectRpcError } from "./connectRpc.js";
import { startComponentBridge, type ComponentBridge } from "./componentBridge.js";
import type { Isolation, SpawnPlan } from "./isolation.js";
import { SandboxInit } from "./sandboxInit.js";
import { listProcesses, pidExists, processesOfUid, signal, waitGone } from "./procfs.js";
import {
  createSandboxDirs,
  hostPathFor,
  normalizeSandboxPath,
  SANDBOX_HOME,
  SANDBOX_ROOT_HOME,
  sandboxDirs,
  type SandboxDirs,
} from "./sandboxPaths.js";
import { allocateHostIds, type HostIds, type SandboxUser } from "./sandboxUsers.js";

export type SandboxLimits = {
  maxSandboxes: number;
  maxCommandsPerSandbox: number;
  /** Seconds when create names no timeout (E2B: 300). */
  defaultTimeoutSeconds: number;
  /** Longest timeout accepted, seconds (E2B Pro: 24 h). */
  maxTimeoutSeconds: number;
  /** Size of each command's /dev/shm tmpfs (bwrap), bytes; undefined: bwrap's default /dev. */
  shmTmpfsBytes?: number;
  /** Largest file a command may write (RLIMIT_FSIZE), bytes: the disk limit, held at write time. */
  maxFileBytes?: number;
};

export class Sandbox {
  readonly commands = new Map<number, Command>();
  endAt: Date;
  private timer: NodeJS.Timeout | undefined;
  private killing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly templateId: string,
    readonly metadata: Record<string, string>,
    readonly envVars: Record<string, string>,
    readonly accessToken: string,
    readonly dirs: SandboxDirs,
    /** The sandbox's own host uids (root, user, lakitu-agent) when the host runs as root. */
    readonly ids: HostIds | undefined,
    readonly startedAt: Date,
    private readonly isolation: Isolation,
    private readonly limits: SandboxLimits,
    private readonly onExpire: (s: Sandbox) => void,
  ) {
    this.endAt = startedAt;
  }

  /** The component bridge listening on `dirs.run/component.sock`, once started. */
  bridge: ComponentBridge | undefined;
  /** Wraps each command's spawn plan (the resource limits' cgroups), when set. */
  spawnWrapper: SpawnWrapper | undefined;
  /** The process holding the sandbox's namespaces (bwrap), once started. */
  init: SandboxInit | undefined;

  /** Starts the sandbox's init (bwrap only); `onDeath` runs if it ends while the sandbox lives. */
  async startInit(onDeath: () => void): Promise<void> {
    if (this.isolation.kind !== "bwrap") return;
    this.repairMountPoint();
    const plan = this.isolation.initPlan({ dirs: this.dirs, ids: this.ids, bridge: this.bridge !== undefined, shmBytes: this.limits.shmTmpfsBytes });
    this.init = await SandboxInit.start(this.spawnWrapper ? this.spawnWrapper(plan) : plan);
    this.init.onExit(() => {
      if (!this.killing) onDeath();
    });
  }

  /** Host uid of the sandbox's `user` (the owner of what it writes by default), when it has own uids. */
  get uid(): number | undefined {
    return this.ids?.user;
  }

  /** Host uids of every user of the sandbox (none without own uids). */
  get hostUids(): number[] {
    return this.ids ? [this.ids.root, this.ids.user, this.ids.agent] : [];
  }

  get killed(): boolean {
    return this.killing !== undefined;
  }

  /** (Re)arms the kill timer: the sandbox is killed `seconds` from now. */
  setTimeout(seconds: number): void {
    if (this.killing) return;
    const ms = Math.min(seconds, this.limits.maxTimeoutSeconds) * 1000;
    this.endAt = new Date(Date.now() + ms);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onExpire(this), ms);
    this.timer.unref();
  }

  /** Starts a command (envd `Start`). Throws `ConnectRpcError` for a bad cwd or too many commands. */
  async startCommand(config: ProcessConfig, opts: { tag?: string; stdin: boolean; user?: SandboxUser }): Promise<Command> {
    if (this.killing) throw new ConnectRpcError("unavailable", "the sandbox is being killed");
    const running = [...this.commands.values()].filter((c) => !c.exited).length;
    if (running >= this.limits.maxCommandsPerSandbox) {
      throw new ConnectRpcError(
        "resource_exhausted",
        `the sandbox already runs ${running} commands (limit ${this.limits.maxCommandsPerSandbox})`,
      );
    }
    // E2B's default working directory is the user's home (relative file paths resolve there too).
    const user = opts.user ?? "user";
    const cwd = normalizeSandboxPath(config.cwd || (user === "root" ? SANDBOX_ROOT_HOME : SANDBOX_HOME));
    const mapped = hostPathFor(this.dirs, cwd);
    if (mapped) {
      let ok = false;
      try {
        ok = lstatSync(mapped.hostPath).isDirectory() || lstatSync(mapped.hostPath).isSymbolicLink();
      } catch {
        ok = false;
      }
      if (!ok) throw new ConnectRpcError("invalid_argument", `cwd '${cwd}' does not exist`);
    } else if (this.isolation.kind === "none") {
      throw new ConnectRpcError("invalid_argument", `cwd '${cwd}' is outside /home/user and /tmp, which needs bwrap isolation`);
    }
    const init = this.init;
    if (this.isolation.kind === "bwrap" && !init?.alive) throw new ConnectRpcError("unavailable", "the sandbox's processes are gone");
    const plan = this.isolation.plan({
      dirs: this.dirs,
      ids: this.ids,
      user,
      bridge: this.bridge !== undefined,
      cmd: config.cmd,
      args: config.args,
      cwd,
      hostCwd: mapped?.hostPath,
      envs: { ...this.envVars, ...config.envs },
      maxFileBytes: this.limits.maxFileBytes,
      init,
    });
    let command: Command;
    try {
      command = await Command.spawn(
        this.spawnWrapper ? this.spawnWrapper(plan) : plan,
        { ...config, cwd },
        { tag: opts.tag, stdin: opts.stdin, underBwrap: this.isolation.kind === "bwrap" },
      );
    } catch (e) {
      throw new ConnectRpcError("internal", `failed to start the command: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.commands.set(command.pid, command);
    void command.wait().then(() => this.commands.delete(command.pid));
    if (this.killing) {
      // Killed while this command was starting: it must not outlive the sandbox.
      await command.kill();
      throw new ConnectRpcError("unavailable", "the sandbox was killed");
    }
    return command;
  }

  /** envd's process selector: by pid, or by tag. */
  findCommand(selector: { pid?: number; tag?: string } | undefined): Command | undefined {
    if (!selector) return undefined;
    if (typeof selector.pid === "number") return this.commands.get(selector.pid);
    if (typeof selector.tag === "string") return [...this.commands.values()].find((c) => c.tag === selector.tag);
    return undefined;
  }

  /** The workspace mount point inside home must stay a plain directory (the sandbox could swap it). */
  private repairMountPoint(): void {
    if (this.isolation.kind !== "bwrap") return;
    const mountPoint = path.join(this.dirs.home, "workspace");
    try {
      if (lstatSync(mountPoint).isDirectory()) return;
    } catch {
      return; // bwrap creates it
    }
    rmSync(mountPoint, { force: true });
  }

  /**
   * Live host pids of every process of this sandbox (its init's tree, with the daemons, included).
   * `helpers` false leaves out the host-side processes that hold it (the init's bwrap, each command's
   * nsenter) and keeps only what runs in the sandbox.
   */
  pids(procs = listProcesses(), helpers = true): number[] {
    const pids = new Set<number>(this.init?.pids(procs));
    for (const c of this.commands.values()) for (const pid of c.pids(procs)) pids.add(pid);
    for (const uid of this.hostUids) for (const pid of processesOfUid(uid, procs)) pids.add(pid);
    if (!helpers && this.isolation.kind === "bwrap") {
      if (this.init) pids.delete(this.init.hostPid);
      for (const c of this.commands.values()) pids.delete(c.hostPid);
    }
    return [...pids];
  }

  /**
   * SIGKILLs every process, waits for them to be gone, deletes the directory. Idempotent. With a
   * `reason` (a resource limit) its commands end with exit code 137 and that error.
   */
  kill(reason?: string): Promise<void> {
    this.killing ??= (async () => {
      clearTimeout(this.timer);
      // Killed under them: for a limit they end with 137 and the reason; else their streams end as on
      // E2B (`unavailable`, which the SDK raises as TimeoutError).
      for (const c of this.commands.values()) c.endWithSandbox(`sandbox ${this.id} was killed`, reason);
      // pid 1 first: the kernel kills every process of the namespace at once, daemons included.
      await this.init?.kill();
      await Promise.all([...this.commands.values()].map((c) => c.kill(reason)));
      if (this.ids !== undefined) {
        // Anything the sandbox's own uids still run (a process that left its command's group).
        for (let round = 0; round < 5; round++) {
          const left = this.hostUids.flatMap((uid) => processesOfUid(uid));
          if (left.length === 0) break;
          for (const pid of left) signal(pid, "SIGKILL");
          await waitGone(left, 1_000);
        }
      }
      await this.bridge?.close();
      await rm(this.dirs.dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return this.killing;
  }
}

export class SandboxRegistry {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly dying = new Set<Promise<void>>();
  /** Why sandboxes were killed by the host (resource limits), by id; the oldest go past MAX_TOMBSTONES. */
  private readonly tombstones = new Map<string, string>();
  /** Set by the host: per-sandbox resources made at create (returning how commands enter them), freed when gone. */
  hooks: { created?(s: Sandbox): SpawnWrapper | undefined; gone?(s: Sandbox): Promise<void> } = {};

  constructor(
    private readonly root: string,
    private readonly isolation: Isolation,
    readonly limits: SandboxLimits,
    private readonly warn: (message: string) => void,
    /** The one origin every sandbox's component bridge forwards to (undefined: the bridge answers 502). */
    private readonly componentUpstream?: URL,
  ) {}

  /**
   * Removes what a host that is gone (crashed, killed) left in the root: sandbox directories whose
   * owning host process no longer runs. Directories of hosts still running (another `lakitu sandbox
   * serve` on the same root, another host in this process) are left alone. Returns the removed ids.
   */
  reconcileRoot(): string[] {
    const removed: string[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.root);
    } catch {
      return removed;
    }
    for (const id of entries) {
      if (!SANDBOX_ID.test(id) || this.sandboxes.has(id)) continue;
      const dir = path.join(this.root, id);
      try {
        if (!lstatSync(dir).isDirectory()) continue;
      } catch {
        continue;
      }
      let owner: number | undefined;
      try {
        owner = Number.parseInt(readFileSync(path.join(dir, OWNER_FILE), "utf8"), 10);
      } catch {
        owner = undefined; // no owner file: a directory of a crashed host (or of an older host)
      }
      if (owner !== undefined && Number.isInteger(owner) && owner > 0 && pidExists(owner)) continue;
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        removed.push(id);
        this.warn(`lakitu sandbox: removed the directory of sandbox ${id}, left behind by a host that is gone (${dir})`);
      } catch (e) {
        this.warn(`lakitu sandbox: could not remove the leftover sandbox directory ${dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return removed;
  }

  get size(): number {
    return this.sandboxes.size;
  }

  /** Creates the directories and arms the timeout. Capacity is the caller's to check. */
  async create(input: {
    templateId: string;
    metadata: Record<string, string>;
    envVars: Record<string, string>;
    timeoutSeconds?: number;
  }): Promise<Sandbox> {
    const id = newSandboxId();
    const dirs = sandboxDirs(this.root, id);
    const ids = this.isolation.usesOwnUids ? allocateHostIds() : undefined;
    await createSandboxDirs(dirs, ids);
    // Which host process owns the directory: a later host removes it once that process is gone.
    await writeFile(path.join(dirs.dir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
    let bridge: ComponentBridge;
    try {
      bridge = await startComponentBridge({
        socketPath: path.join(dirs.run, "component.sock"),
        upstream: this.componentUpstream,
        owner: ids ? { uid: ids.root, gid: ids.root } : undefined,
      });
    } catch (e) {
      await rm(dirs.dir, { recursive: true, force: true });
      throw e;
    }
    const sandbox = new Sandbox(
      id,
      input.templateId,
      input.metadata,
      input.envVars,
      randomBytes(32).toString("hex"),
      dirs,
      ids,
      new Date(),
      this.isolation,
      this.limits,
      (s) => this.killInBackground(s.id),
    );
    sandbox.bridge = bridge;
    try {
      sandbox.spawnWrapper = this.hooks.created?.(sandbox); // resource limits (host.ts)
      // Like a VM whose init died: the sandbox stays until killed or timed out, but runs nothing more.
      await sandbox.startInit(() => this.warn(`lakitu sandbox: the init of sandbox ${id} ended: its commands are refused until it is killed`));
    } catch (e) {
      await sandbox.kill();
      await this.hooks.gone?.(sandbox);
      throw e;
    }
    sandbox.setTimeout(input.timeoutSeconds ?? this.limits.defaultTimeoutSeconds);
    this.sandboxes.set(id, sandbox);
    return sandbox;
  }

  /** The live sandbox, or undefined. A sandbox whose workspace vanished is killed and reported gone. */
  get(id: string): Sandbox | undefined {
    const s = this.sandboxes.get(id);
    if (!s) return undefined;
    if (!existsSync(s.dirs.workspace)) {
      this.killInBackground(id);
      return undefined;
    }
    return s;
  }

  all(): Sandbox[] {
    return [...this.sandboxes.keys()].map((id) => this.get(id)).filter((s): s is Sandbox => s !== undefined);
  }

  /** Why the host killed sandbox `id` (a limit kill message), if it did. */
  goneReason(id: string): string | undefined {
    return this.tombstones.get(id);
  }

  /** Kills a sandbox that crossed a resource limit, remembering `message` as its tombstone. */
  killForLimit(id: string, message: string): void {
    if (!this.sandboxes.has(id)) return;
    this.tombstones.set(id, message);
    for (const old of this.tombstones.keys()) {
      if (this.tombstones.size <= MAX_TOMBSTONES) break;
      this.tombstones.delete(old);
    }
    this.warn(`lakitu sandbox: ${message}`);
    this.kill(id, message).catch((e: unknown) =>
      this.warn(`lakitu sandbox: cleaning up sandbox ${id} failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  /** Kills the sandbox; false when it is unknown (or already killed). Resolves once it is fully gone. */
  async kill(id: string, reason?: string): Promise<boolean> {
    const s = this.sandboxes.get(id);
    if (!s) return false;
    this.sandboxes.delete(id);
    const p = s.kill(reason).then(() => this.hooks.gone?.(s));
    this.dying.add(p);
    try {
      await p;
    } finally {
      this.dying.delete(p);
    }
    return true;
  }

  private killInBackground(id: string): void {
    this.kill(id).catch((e: unknown) =>
      this.warn(`lakitu sandbox: cleaning up sandbox ${id} failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.sandboxes.keys()].map((id) => this.kill(id)));
    await Promise.all([...this.dying]);
  }
}

export type SpawnWrapper = (plan: SpawnPlan) => SpawnPlan;

const OWNER_FILE = "host.pid";
const MAX_TOMBSTONES = 1_000;
const SANDBOX_ID = /^[a-z0-9]{20}$/;


/** E2B-like sandbox id: 20 lowercase alphanumerics. */
function newSandboxId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(20);
  let id = "";
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return id;
}
