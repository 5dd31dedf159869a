/**
 * The users of a sandbox and the host ids behind them.
 *
 * Inside every sandbox: `root` (0, home /root), `user` (1000, home /home/user; E2B's default user) and
 * `lakitu-agent` (1001, primary group 1000 `user`, home /home/user/workspace, no login shell): the
 * runtime runs as root and starts agent code as lakitu-agent. When the host runs as root, each sandbox
 * gets three distinct unprivileged host uids (`HostIds`) and its commands run in a user namespace that
 * maps 0, 1000 and 1001 onto them, so the three are really different users. Otherwise (host not root)
 * the sandbox has a single uid and the three are names only (see README.md, security notes).
 */
import type { Stats } from "node:fs";

/** Users the SDK's `user` option may name. `lakitu-agent` is started by the runtime, not by the SDK. */
export type SandboxUser = "root" | "user";
export const SANDBOX_USERS: readonly SandboxUser[] = ["user", "root"];
export const DEFAULT_USER: SandboxUser = "user";

export const ROOT_ID = 0;
export const USER_ID = 1000;
export const AGENT_ID = 1001;
/** The agent user's name; sandboxes that have it tell the runtime in `LAKITU_AGENT_USER`. */
export const AGENT_NAME = "lakitu-agent";

export const PASSWD = `root:x:${ROOT_ID}:${ROOT_ID}:root:/root:/bin/bash
user:x:${USER_ID}:${USER_ID}:user:/home/user:/bin/bash
${AGENT_NAME}:x:${AGENT_ID}:${USER_ID}:lakitu agent:/home/user/workspace:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
export const GROUP = `root:x:${ROOT_ID}:
user:x:${USER_ID}:lakitu-agent
lakitu-agent:x:${AGENT_ID}:
nogroup:x:65534:
`;

/** The host uids (each also the gid) behind a sandbox's root, user and lakitu-agent. */
export type HostIds = { root: number; user: number; agent: number };

/**
 * Three consecutive host uids no real account uses, for one sandbox (collisions between concurrent
 * hosts are negligible: ~250 million slots).
 */
export function allocateHostIds(): HostIds {
  const base = 1_000_000 + 4 * Math.floor(Math.random() * 250_000_000);
  return { root: base, user: base + 1, agent: base + 2 };
}

/** `/proc/<pid>/uid_map` (and gid_map) text mapping the sandbox's 0, 1000 and 1001 onto `ids`. */
export function idMap(ids: HostIds): string {
  return `${ROOT_ID} ${ids.root} 1\n${USER_ID} ${ids.user} 1\n${AGENT_ID} ${ids.agent} 1\n`;
}

/** The host uid/gid that acts for `user`, or undefined when the sandbox has no own uids. */
export function hostIdOf(ids: HostIds | undefined, user: SandboxUser): { uid: number; gid: number } | undefined {
  if (!ids) return undefined;
  const uid = user === "root" ? ids.root : ids.user;
  return { uid, gid: uid };
}

/**
 * The SDK's `user` option, checked. Absent or empty means `user`; anything but `user` and `root` is
 * refused with an error naming the user and the allowed ones.
 */
export function parseSandboxUser(name: string | undefined): { user: SandboxUser } | { error: string } {
  if (name === undefined || name === "") return { user: DEFAULT_USER };
  if ((SANDBOX_USERS as readonly string[]).includes(name)) return { user: name as SandboxUser };
  return {
    error: `user '${name}' is not supported by the local sandbox host: allowed users are ${SANDBOX_USERS.map((u) => `'${u}'`).join(" and ")}`,
  };
}

/**
 * Whether host uid/gid `who` may `want` (r, w or x) an inode with stat `st`, by the POSIX owner/group/
 * other bits; the sandbox's root (`privileged`) may do anything to the sandbox's files (it holds
 * CAP_DAC_OVERRIDE in its namespace). Used by envd, which runs as the host's root, to act "as" a user.
 */
export function mayAccess(
  st: Pick<Stats, "uid" | "gid" | "mode">,
  who: { uid: number; gid: number },
  want: "r" | "w" | "x",
  privileged = false,
): boolean {
  if (privileged) return true;
  const bit = want === "r" ? 4 : want === "w" ? 2 : 1;
  const shift = st.uid === who.uid ? 6 : st.gid === who.gid ? 3 : 0;
  return ((st.mode >> shift) & bit) !== 0;
}
