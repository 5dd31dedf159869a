/**
 * envd's `EntryInfo` (filesystem.proto) for an entry of a sandbox, in the protobuf JSON the SDK reads:
 * name, type, path, size (int64: a string), mode (permission bits), permissions (Go's
 * `FileMode.String()`, e.g. `-rw-r--r--`, `dgrwxrwsr-x`, `Lrwxrwxrwx`), owner and group (names as the
 * sandbox sees them), modifiedTime (RFC 3339, nanoseconds) and symlinkTarget.
 *
 * As envd: an entry is described from its lstat; a symlink has the type and permission bits of what it
 * points to and `symlinkTarget` the fully resolved path (the link's own path when it cannot be resolved:
 * dangling or cyclic, type then unspecified, which the SDK's `list` skips). Unlike envd, a link is only
 * followed within the served directories: a link out of them (`/etc/...`) is reported as type
 * `symlink` with its resolved path, never statted on the host.
 */
import { lstatSync, type Stats, constants as fsc } from "node:fs";
import { at, locate, OutsideError, release, type FsCaller } from "./fsLocate.js";
import { AGENT_NAME } from "./sandboxUsers.js";

// Not in Node's fs.constants.
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

export type FileTypeName = "FILE_TYPE_UNSPECIFIED" | "FILE_TYPE_FILE" | "FILE_TYPE_DIRECTORY" | "FILE_TYPE_SYMLINK";

export type EntryInfoJson = {
  name: string;
  type: FileTypeName;
  path: string;
  size: string;
  mode: number;
  permissions: string;
  owner: string;
  group: string;
  modifiedTime?: string;
  symlinkTarget?: string;
};

function typeOf(st: Pick<Stats, "isFile" | "isDirectory" | "isSymbolicLink">): FileTypeName {
  if (st.isFile()) return "FILE_TYPE_FILE";
  if (st.isDirectory()) return "FILE_TYPE_DIRECTORY";
  if (st.isSymbolicLink()) return "FILE_TYPE_SYMLINK";
  return "FILE_TYPE_UNSPECIFIED"; // FIFOs, sockets, devices (envd: unknown)
}

/** Go's `os.FileMode.String()` of a Unix mode: type letters from "dalTLDpSugct?", then rwxrwxrwx. */
export function goModeString(mode: number): string {
  const fmt = mode & fsc.S_IFMT;
  let s = "";
  if (fmt === fsc.S_IFDIR) s += "d";
  if (fmt === fsc.S_IFLNK) s += "L";
  if (fmt === fsc.S_IFBLK || fmt === fsc.S_IFCHR) s += "D";
  if (fmt === fsc.S_IFIFO) s += "p";
  if (fmt === fsc.S_IFSOCK) s += "S";
  if (mode & S_ISUID) s += "u";
  if (mode & S_ISGID) s += "g";
  if (fmt === fsc.S_IFCHR) s += "c";
  if (mode & S_ISVTX) s += "t";
  if (s === "") s = "-";
  const rwx = "rwxrwxrwx";
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : "-";
  return s;
}

/** RFC 3339 with nanoseconds (protobuf JSON's Timestamp) of a bigint nanosecond time. */
export function timestampJson(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const nanos = Number(ns % 1_000_000_000n);
  const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "");
  return `${iso}.${String(nanos).padStart(9, "0")}Z`;
}

/**
 * The name inside the sandbox of a host uid (or gid: each sandbox user's gid is its uid). Without own
 * uids the sandbox's files all belong to one host uid, which a command sees as its own user.
 */
export function sandboxNameOf(id: number, c: FsCaller, kind: "owner" | "group"): string {
  if (!c.ids) return id === (kind === "owner" ? process.getuid?.() : process.getgid?.()) ? c.user : String(id);
  if (id === c.ids.root) return "root";
  if (id === c.ids.user) return "user";
  if (id === c.ids.agent) return AGENT_NAME;
  return kind === "owner" ? "nobody" : "nogroup"; // unmapped in the sandbox's user namespace
}

type LinkInfo = { type: FileTypeName; mode: number; target: string };

/** What the symlink at `linkPath` (a resolved sandbox path) points to, resolved in sandbox space. */
function followLink(c: FsCaller, linkPath: string): LinkInfo {
  let loc;
  try {
    loc = locate(c, linkPath, true);
  } catch (e) {
    if (e instanceof OutsideError) return { type: "FILE_TYPE_SYMLINK", mode: 0o777, target: e.resolved };
    return { type: "FILE_TYPE_UNSPECIFIED", mode: 0, target: linkPath }; // dangling, cyclic or not searchable
  }
  try {
    if (!loc.st) return { type: "FILE_TYPE_UNSPECIFIED", mode: 0, target: linkPath };
    return { type: typeOf(loc.st), mode: loc.st.mode & 0o777, target: loc.path };
  } finally {
    release(loc);
  }
}

/**
 * EntryInfo of the entry `name` in the open directory `dirFd`; `reported` is the path given back (the
 * requested one, as envd), `resolved` its sandbox path with parents resolved (to follow a link).
 */
export function entryInfo(
  c: FsCaller,
  loc: { dirFd: number; name: string },
  reported: string,
  resolved: string,
  displayName: string,
): EntryInfoJson {
  const st = lstatSync(at(loc), { bigint: true });
  const mode = Number(st.mode);
  const link = st.isSymbolicLink() ? followLink(c, resolved) : undefined;
  return {
    name: displayName,
    type: link ? link.type : typeOf(st),
    path: reported,
    size: String(st.size),
    mode: link ? link.mode : mode & 0o777,
    permissions: goModeString(mode),
    owner: sandboxNameOf(Number(st.uid), c, "owner"),
    group: sandboxNameOf(Number(st.gid), c, "group"),
    modifiedTime: timestampJson(st.mtimeNs),
    ...(link ? { symlinkTarget: link.target } : {}),
  };
}
