/**
 * bubblewrap's arguments for a sandbox's init (isolation.ts, sandboxInit.ts): what every sandbox sees
 * read-only (system directories, a few /etc files, the Node install, the mounts) and its own writable
 * directories, /dev, /dev/shm and /proc, in new pid, ipc, uts, (cgroup) and — unless the network is
 * shared — network namespaces, dying with the host.
 */
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import path from "node:path";
import type { InitSpec, NetworkMode, ReadOnlyMount } from "./isolation.js";
import { INIT_SCRIPT } from "./sandboxInit.js";
import { SANDBOX_HOME, SANDBOX_ROOT_HOME, SANDBOX_RUN, SANDBOX_TMP, SANDBOX_WORKSPACE } from "./sandboxPaths.js";
import { ROOT_ID } from "./sandboxUsers.js";

export const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** `/etc` entries programs commonly need; bound read-only when the host has them. Nothing with secrets. */
const ETC_ENTRIES = [
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
  "/etc/ca-certificates",
  "/etc/ca-certificates.conf",
  "/etc/pki/tls/certs",
  "/etc/pki/ca-trust",
  "/etc/crypto-policies",
  "/etc/alternatives",
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/localtime",
  "/etc/timezone",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/protocols",
  "/etc/services",
  "/etc/mime.types",
  "/etc/os-release",
];

/** Directory holding the Node install that runs the host (`<prefix>` of `<prefix>/bin/node`), unless under /usr. */
export function nodeInstallDir(): { bind?: string; binDir: string } {
  const binDir = path.dirname(process.execPath);
  const prefix = path.basename(binDir) === "bin" ? path.dirname(binDir) : binDir;
  const covered = SYSTEM_DIRS.some((d) => prefix === d || prefix.startsWith(d + "/"));
  return { bind: covered || prefix === "/" ? undefined : prefix, binDir };
}

/** The per-sandbox part of the init's bwrap arguments (after `fixedBwrapArgs`), ending with its command. */
export function initBwrapArgs(spec: InitSpec, ownUids: boolean, network: NetworkMode): string[] {
  const args: string[] = [];
  if (!ownUids) args.push("--uid", String(ROOT_ID), "--gid", String(ROOT_ID));
  if (network === "isolated") args.push("--unshare-net");
  args.push(
    "--bind",
    spec.dirs.home,
    SANDBOX_HOME,
    "--bind",
    spec.dirs.workspace,
    SANDBOX_WORKSPACE,
    "--bind",
    spec.dirs.tmp,
    SANDBOX_TMP,
    "--bind",
    spec.dirs.root,
    SANDBOX_ROOT_HOME,
    ...(spec.bridge ? ["--bind", spec.dirs.run, SANDBOX_RUN] : []),
    "--dev",
    "/dev",
    // Resource limits (sandboxLimits.ts): a size-capped /dev/shm instead of /dev's unlimited one.
    ...(spec.shmBytes !== undefined ? ["--perms", "1777", "--size", String(spec.shmBytes), "--tmpfs", "/dev/shm"] : []),
    "--proc",
    "/proc",
    // bwrap's root is a tmpfs holding the mount points: read-only too, or it is writable memory.
    "--remount-ro",
    "/",
    "--cap-drop",
    "ALL",
    "--chdir",
    "/",
    "--",
    "/bin/sh",
    "-c",
    INIT_SCRIPT,
  );
  return args;
}

/** bwrap arguments that are the same for every sandbox of a host: namespaces and read-only binds. */
export function fixedBwrapArgs(etcDir: string, mounts: ReadOnlyMount[], ownUids: boolean): string[] {
  const args: string[] = [
    // Own uids: the user namespace is made (and nested ones forbidden) before bwrap; see userNamespace.ts.
    // Else bwrap makes one with a single uid; each command gets a nested one of its own that forbids
    // further nesting (sandboxInit.ts), so this one must allow it (no --disable-userns).
    ...(ownUids ? [] : ["--unshare-user"]),
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    "sandbox",
    "--die-with-parent",
    "--new-session",
  ];
  for (const dir of SYSTEM_DIRS) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push("--ro-bind", dir, dir);
  }
  const etc = ETC_ENTRIES.filter((entry) => existsSync(entry));
  const install = nodeInstallDir();
  // Directories bwrap makes on the way to a mount point are 0700 when it runs privileged (own uids):
  // make each one 0755 first, so every sandbox user can reach /etc, /home/user, /opt/… .
  const targets = [
    ...etc,
    "/etc/passwd",
    SANDBOX_WORKSPACE,
    SANDBOX_RUN,
    ...(install.bind ? [install.bind] : []),
    ...mounts.map((m) => m.sandboxPath),
  ];
  const parents = new Set<string>();
  for (const t of targets) for (let d = path.posix.dirname(t); d !== "/"; d = path.posix.dirname(d)) parents.add(d);
  for (const d of [...parents].sort((a, b) => a.length - b.length))
    if (d !== SANDBOX_HOME + "/workspace") args.push("--perms", "0755", "--dir", d);
  for (const entry of etc) args.push("--ro-bind", entry, entry);
  args.push("--ro-bind", path.join(etcDir, "passwd"), "/etc/passwd", "--ro-bind", path.join(etcDir, "group"), "/etc/group");
  if (install.bind) args.push("--ro-bind", install.bind, install.bind);
  for (const m of mounts) args.push("--ro-bind", m.hostPath, m.sandboxPath);
  return args;
}
