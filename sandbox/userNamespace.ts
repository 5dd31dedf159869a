/**
 * A sandbox's user namespace with three users, when the host runs as root.
 *
 * An unprivileged process cannot map more than its own uid into a user namespace it creates, but the
 * host's root can write the map for it. So the sandbox's init (sandboxInit.ts; its commands later join
 * this namespace with nsenter) starts, as the sandbox's root host uid, as
 *
 *   unshare --user -- sh -c '<wait for the host on fd 3>; exec sh -c "<no nested userns>; exec bwrap …"'
 *
 * and the host, once the new namespace exists, writes `uid_map`/`gid_map` (0, 1000, 1001 → the
 * sandbox's three host uids), then writes a line to fd 3. The exec after that runs as the namespace's
 * root with its capabilities: it sets `user.max_user_namespaces` to 0 in the namespace (so nothing in the
 * sandbox can create a nested user namespace, as `bwrap --disable-userns` does) and execs bwrap, which
 * then sets up the sandbox as a privileged bwrap would (it drops the capabilities it is told to).
 * `setgroups` stays "allow" so the runtime's `spawn({ uid, gid })` can clear its supplementary groups.
 */
import { readlinkSync, writeFileSync } from "node:fs";
import { idMap, type HostIds } from "./sandboxUsers.js";

/** The fd the command waits on until its namespace is mapped. */
export const HANDSHAKE_FD = 3;

const INNER =
  'echo 0 > /proc/sys/user/max_user_namespaces || { echo "lakitu sandbox: cannot forbid nested user namespaces" >&2; exit 125; }; exec "$@"';
const OUTER = `read _ <&${HANDSHAKE_FD} || exit 125; exec ${HANDSHAKE_FD}<&-; exec /bin/sh -c '${INNER}' sh "$@"`;

/** The argv prefix that runs `command` (bwrap …) in a fresh user namespace once the host mapped it. */
export function userNamespacePrefix(unshare: string): string[] {
  return [unshare, "--user", "--", "/bin/sh", "-c", OUTER, "sh"];
}

/**
 * Waits until `pid` is in a user namespace of its own, maps the sandbox's users onto `ids` and lets it
 * go on (`release`). Rejects when the process ends or does not unshare within `timeoutMs`.
 */
export async function mapUserNamespace(pid: number, ids: HostIds, release: () => void, timeoutMs = 10_000): Promise<void> {
  const own = readlinkSync("/proc/self/ns/user");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${pid}/ns/user`);
    } catch {
      throw new Error(`the command (pid ${pid}) ended before its user namespace was set up`);
    }
    if (ns !== own) break;
    if (Date.now() > deadline) throw new Error(`the command (pid ${pid}) did not create its user namespace within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const map = idMap(ids);
  writeFileSync(`/proc/${pid}/uid_map`, map);
  writeFileSync(`/proc/${pid}/gid_map`, map);
  release();
}
