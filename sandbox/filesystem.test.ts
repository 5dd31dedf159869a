/**
 * The envd filesystem service (filesystem.ts, fsLocate.ts, fsEntry.ts, fsWatch.ts) driven by the
 * official SDK: `files.exists`, `getInfo`, `list`, `makeDir`, `remove`, `rename` and `watchDir`, with
 * E2B's results, error classes and defaults, the `user` option, and the escapes it must refuse.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  FileNotFoundError,
  FilesystemEventType,
  InvalidArgumentError,
  NotFoundError,
  RateLimitError,
  Sandbox,
  SandboxError,
  TimeoutError,
  type FilesystemEvent,
} from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { tempRoot, waitFor } from "./testing/helpers.js";

let host: SandboxHost;
let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };
let sbx: Sandbox;
/** The host directory behind the sandbox's /home/user. */
let home: string;

beforeAll(async () => {
  host = await startSandboxHost({ root: tempRoot("filesystem"), warn: () => {} });
  opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
  sbx = await Sandbox.create("base", { ...opts, timeoutMs: 300_000 });
  home = path.join(host.list().find((s) => s.sandboxId === sbx.sandboxId)!.dir, "home");
});
afterAll(async () => {
  await host?.close();
});

describe("getInfo and exists", () => {
  it("describes a file and a directory as envd does, relative paths under the user's home", async () => {
    await sbx.files.write("info/test_file.txt", "test");
    const file = await sbx.files.getInfo("info/test_file.txt");
    expect(file).toMatchObject({
      name: "test_file.txt",
      type: "file",
      path: "/home/user/info/test_file.txt",
      size: 4,
      mode: 0o644,
      permissions: "-rw-r--r--",
      owner: "user",
      group: "user",
    });
    expect(file.symlinkTarget).toBeUndefined();
    expect(Math.abs(file.modifiedTime!.getTime() - Date.now())).toBeLessThan(120_000);
    const dir = await sbx.files.getInfo("/home/user/info");
    expect(dir).toMatchObject({ name: "info", type: "dir", path: "/home/user/info", mode: 0o755, permissions: "drwxr-xr-x" });
    expect(dir.size).toBeGreaterThan(0);
    // The workspace as the sandbox sees it (setgid, group-writable), not its mount point.
    expect(await sbx.files.getInfo("/home/user/workspace")).toMatchObject({ type: "dir", permissions: "dgrwxrwxr-x" });
    expect(await sbx.files.getInfo("/tmp")).toMatchObject({ type: "dir", permissions: "dtrwxrwxrwx" });
    // Root's relative paths resolve under /root.
    await sbx.files.write("/root/r.txt", "r", { user: "root" });
    expect(await sbx.files.getInfo("r.txt", { user: "root" })).toMatchObject({ path: "/root/r.txt", owner: "root", group: "root" });
  });

  it("answers NotFoundError (FileNotFoundError) for a missing path and exists() false", async () => {
    const err = await sbx.files.getInfo("info/missing.txt").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(String(err)).toMatch(/\/home\/user\/info\/missing\.txt' does not exist/);
    expect(await sbx.files.exists("info/missing.txt")).toBe(false);
    expect(await sbx.files.exists("info/missing/deeper")).toBe(false);
    expect(await sbx.files.exists("info/test_file.txt")).toBe(true);
    expect(await sbx.files.exists("/home/user")).toBe(true);
    // Outside the served directories: not served, so not found.
    expect(await sbx.files.exists("/etc/passwd")).toBe(false);
  });

  it("refuses an empty path and another user's ~ with InvalidArgumentError naming the field", async () => {
    await expect(sbx.files.getInfo("")).rejects.toThrow(InvalidArgumentError);
    await expect(sbx.files.getInfo("")).rejects.toThrow(/path is required/);
    await expect(sbx.files.exists("~bob/x")).rejects.toThrow(/cannot expand another user's home/);
    await expect(sbx.files.rename("", "x")).rejects.toThrow(/source is required/);
    await expect(sbx.files.getInfo("x", { user: "admin" })).rejects.toThrow(/user 'admin' is not supported/);
  });

  it("describes a symlink by its target, resolved in the sandbox; links out of it are not followed", async () => {
    await sbx.files.write("links/target.txt", "12345");
    await sbx.commands.run(
      "ln -s target.txt links/rel && ln -s /home/user/links links/dirlink && ln -s /etc/hostname links/out && ln -s nowhere links/dangling",
    );
    const rel = await sbx.files.getInfo("links/rel");
    expect(rel).toMatchObject({
      name: "rel",
      type: "file",
      path: "/home/user/links/rel",
      mode: 0o644,
      symlinkTarget: "/home/user/links/target.txt",
    });
    expect(rel.permissions).toBe("Lrwxrwxrwx");
    expect(await sbx.files.getInfo("links/dirlink")).toMatchObject({ type: "dir", symlinkTarget: "/home/user/links" });
    expect(await sbx.files.getInfo("links/out")).toMatchObject({ type: "symlink", symlinkTarget: "/etc/hostname" });
    expect(await sbx.files.getInfo("links/dangling")).toMatchObject({ type: undefined, symlinkTarget: "/home/user/links/dangling" });
    // A path through a link to a directory resolves as in the sandbox.
    expect(await sbx.files.getInfo("links/dirlink/target.txt")).toMatchObject({ type: "file", size: 5 });
  });
});

describe("list", () => {
  it("lists depth levels in name order (pre-order), with paths under the requested path", async () => {
    for (const d of ["subdir1/subdir1_1", "subdir1/subdir1_2", "subdir2/subdir2_1"]) await sbx.files.makeDir(`tree/${d}`);
    await sbx.files.write("tree/file1.txt", "Hello, world!");
    const one = await sbx.files.list("tree");
    expect(one.map((e) => [e.name, e.type, e.path])).toEqual([
      ["file1.txt", "file", "/home/user/tree/file1.txt"],
      ["subdir1", "dir", "/home/user/tree/subdir1"],
      ["subdir2", "dir", "/home/user/tree/subdir2"],
    ]);
    expect(one[0]).toMatchObject({ size: 13, mode: 0o644, owner: "user", group: "user" });
    const two = await sbx.files.list("/home/user/tree", { depth: 2 });
    expect(two.map((e) => e.path.slice("/home/user/tree/".length))).toEqual([
      "file1.txt",
      "subdir1",
      "subdir1/subdir1_1",
      "subdir1/subdir1_2",
      "subdir2",
      "subdir2/subdir2_1",
    ]);
    expect(await sbx.files.list("tree", { depth: 3 })).toHaveLength(6);
    // Through a link to the directory: the entries are reported under the link's path.
    await sbx.commands.run("ln -s tree treelink");
    expect((await sbx.files.list("treelink")).map((e) => e.path)).toEqual([
      "/home/user/treelink/file1.txt",
      "/home/user/treelink/subdir1",
      "/home/user/treelink/subdir2",
    ]);
  });

  it("descends into the workspace where the sandbox sees it", async () => {
    await sbx.files.write("/home/user/workspace/ws.txt", "w");
    const entries = await sbx.files.list("/home/user", { depth: 2 });
    expect(entries.find((e) => e.path === "/home/user/workspace")).toMatchObject({ type: "dir", permissions: "dgrwxrwxr-x" });
    expect(entries.some((e) => e.path === "/home/user/workspace/ws.txt")).toBe(true);
  });

  it("validates depth and the path: InvalidArgumentError naming depth, NotFoundError, not a directory", async () => {
    await expect(sbx.files.list("tree", { depth: 0 })).rejects.toThrow(/depth should be at least one/); // the SDK's own check
    const deep = await sbx.files.list("tree", { depth: 101 }).catch((e: unknown) => e);
    expect(deep).toBeInstanceOf(InvalidArgumentError);
    expect(String(deep)).toMatch(/depth must be a positive integer of at most 100, got 101/);
    await expect(sbx.files.list("tree", { depth: 1.5 })).rejects.toThrow(/depth must be a positive integer/);
    await expect(sbx.files.list("no-such-dir")).rejects.toThrow(NotFoundError);
    const notDir = await sbx.files.list("tree/file1.txt").catch((e: unknown) => e);
    expect(notDir).toBeInstanceOf(InvalidArgumentError);
    expect(String(notDir)).toMatch(/is not a directory/);
  });
});

describe("makeDir, remove, rename", () => {
  it("makeDir creates parents and returns false when the directory exists", async () => {
    expect(await sbx.files.makeDir("made/a/b")).toBe(true);
    expect(await sbx.files.makeDir("made/a/b")).toBe(false);
    expect(await sbx.files.makeDir("made/a")).toBe(false);
    expect(await sbx.files.getInfo("made/a/b")).toMatchObject({ type: "dir", owner: "user", permissions: "drwxr-xr-x" });
    await sbx.files.write("made/file", "x");
    await expect(sbx.files.makeDir("made/file")).rejects.toThrow(/already exists but it is not a directory/);
    await expect(sbx.files.makeDir("made/file/sub")).rejects.toThrow(InvalidArgumentError);
    // In the setgid workspace new directories keep its group and setgid bit, as the kernel does.
    expect(await sbx.files.makeDir("/home/user/workspace/proj")).toBe(true);
    expect(await sbx.files.getInfo("/home/user/workspace/proj")).toMatchObject({
      owner: "user",
      group: "user",
      permissions: "dgrwxr-xr-x",
    });
    expect((await sbx.commands.run("stat -c '%U %G %A' /home/user/workspace/proj")).stdout.trim()).toBe("user user drwxr-sr-x");
  });

  it("remove deletes a whole tree, succeeds on a missing path, and refuses the top directories", async () => {
    await sbx.files.write("rm/a/b/c.txt", "c");
    await sbx.commands.run("mkfifo rm/a/fifo && ln -s /etc rm/a/etc");
    await sbx.files.remove("rm");
    expect(await sbx.files.exists("rm")).toBe(false);
    expect(existsSync(path.join(home, "rm"))).toBe(false);
    await sbx.files.remove("rm/never/was"); // as envd: nothing to remove is fine
    await sbx.files.remove("never-was.txt");
    await expect(sbx.files.remove("/home/user")).rejects.toThrow(/top directory of the sandbox/);
    await expect(sbx.files.remove("/home/user/workspace")).rejects.toThrow(InvalidArgumentError);
    await expect(sbx.files.remove("/etc/hostname")).rejects.toThrow(/outside the served directories/);
  });

  it("rename replaces an existing destination, creates its parents, and answers the new entry", async () => {
    await sbx.files.write("mv/old.txt", "new content");
    await sbx.files.write("mv/existing.txt", "old content");
    const info = await sbx.files.rename("mv/old.txt", "mv/existing.txt");
    expect(info).toMatchObject({ name: "existing.txt", type: "file", path: "/home/user/mv/existing.txt", size: 11 });
    expect(await sbx.files.read("mv/existing.txt")).toBe("new content");
    expect(await sbx.files.exists("mv/old.txt")).toBe(false);
    expect(await sbx.files.rename("mv/existing.txt", "mv/deep/er/moved.txt")).toMatchObject({ path: "/home/user/mv/deep/er/moved.txt" });
    expect(await sbx.files.rename("/home/user/mv/deep", "/tmp/deep")).toMatchObject({ type: "dir", path: "/tmp/deep" });
    expect(await sbx.files.read("/tmp/deep/er/moved.txt")).toBe("new content");
    await expect(sbx.files.rename("mv/none.txt", "mv/other.txt")).rejects.toThrow(NotFoundError);
    await expect(sbx.files.rename("/home/user/workspace", "/home/user/ws2")).rejects.toThrow(/top directory/);
    await sbx.files.makeDir("mv/full/x");
    await sbx.files.makeDir("mv/dir");
    await expect(sbx.files.rename("mv/dir", "mv/full")).rejects.toThrow(/not empty/);
  });
});

describe("the user option", () => {
  // Users are really different only in sandboxes with own uids (host running as root; README, security).
  it.runIf(process.getuid?.() === 0)("reads and changes only what the user may: permission_denied otherwise", async () => {
    expect(host.list().find((s) => s.sandboxId === sbx.sandboxId)?.ids).toBeDefined();
    expect(await sbx.files.makeDir("/home/user/byroot", { user: "root" })).toBe(true);
    expect(await sbx.files.getInfo("/home/user/byroot")).toMatchObject({ owner: "root", group: "root" });
    await sbx.files.write("/root/secret/s.txt", "s", { user: "root" });
    await expect(sbx.files.list("/root")).rejects.toThrow(/permission_denied.*not readable by user/);
    await expect(sbx.files.getInfo("/root/secret/s.txt")).rejects.toThrow(/permission_denied/);
    expect((await sbx.files.list("/root", { user: "root" })).map((e) => e.name)).toContain("secret");
    await expect(sbx.files.makeDir("/root/mine")).rejects.toThrow(SandboxError);
    await expect(sbx.files.remove("/root/secret")).rejects.toThrow(/permission_denied/);
    // /tmp is sticky: user cannot remove or rename away what root put there.
    await sbx.files.write("/tmp/roots.txt", "r", { user: "root" });
    await expect(sbx.files.remove("/tmp/roots.txt")).rejects.toThrow(/sticky directory/);
    await expect(sbx.files.rename("/tmp/roots.txt", "/tmp/mine.txt")).rejects.toThrow(/sticky directory/);
    // A root-owned directory in home: user cannot create in it, root can remove it.
    await expect(sbx.files.makeDir("/home/user/byroot/sub")).rejects.toThrow(/not writable by user/);
    await sbx.files.remove("/root/secret", { user: "root" });
    expect(await sbx.files.exists("/root/secret", { user: "root" })).toBe(false);
  });
});

describe("escapes", () => {
  it("never follows a link out of the sandbox: stat, list, remove, rename, makeDir and watch", async () => {
    const outside = tempRoot("fs-outside");
    writeFileSync(path.join(outside, "keep.txt"), "host file");
    mkdirSync(path.join(outside, "dir"));
    mkdirSync(path.join(home, "esc"));
    // A link with a host path (what a sandbox could guess) resolves in the sandbox: its own /tmp, where
    // that directory does not exist.
    symlinkSync(outside, path.join(home, "esc", "host"));
    expect(await sbx.files.getInfo("esc/host")).toMatchObject({ type: undefined, symlinkTarget: "/home/user/esc/host" });
    await expect(sbx.files.list("esc/host")).rejects.toThrow(NotFoundError);
    await expect(sbx.files.getInfo("esc/host/keep.txt")).rejects.toThrow(NotFoundError);
    await expect(sbx.files.rename("esc/host/keep.txt", "stolen.txt")).rejects.toThrow(NotFoundError);
    await expect(sbx.files.rename("info/test_file.txt", "esc/host/planted.txt")).rejects.toThrow(/symlink to '\/tmp\/lakitu-fs-outside/);
    await expect(sbx.files.makeDir("esc/host/dir/new")).rejects.toThrow(SandboxError);
    await sbx.files.remove("esc/host/keep.txt"); // nothing there in the sandbox's view
    await expect(sbx.files.watchDir("esc/host", () => {})).rejects.toThrow(NotFoundError);
    // Links to system directories (/etc, /) lead out of the served directories: refused.
    symlinkSync("/etc", path.join(home, "esc", "etc"));
    symlinkSync("/", path.join(home, "esc", "slash"));
    expect(await sbx.files.getInfo("esc/etc")).toMatchObject({ type: "symlink", symlinkTarget: "/etc" });
    await expect(sbx.files.list("esc/etc")).rejects.toThrow(/resolves to '\/etc', outside the served directories/);
    await expect(sbx.files.list("esc/slash/etc")).rejects.toThrow(NotFoundError);
    await expect(sbx.files.getInfo("esc/slash/etc/hostname")).rejects.toThrow(NotFoundError);
    await expect(sbx.files.rename("esc/etc/hostname", "stolen.txt")).rejects.toThrow(InvalidArgumentError);
    await expect(sbx.files.rename("info/test_file.txt", "esc/etc/planted.txt")).rejects.toThrow(InvalidArgumentError);
    await expect(sbx.files.makeDir("esc/slash/opt/new")).rejects.toThrow(InvalidArgumentError);
    await expect(sbx.files.remove("esc/etc/hostname")).rejects.toThrow(InvalidArgumentError);
    await expect(sbx.files.watchDir("esc/etc", () => {})).rejects.toThrow(NotFoundError);
    // Removing the links removes the links only (as root: the test, not the sandbox's user, made them).
    await sbx.files.remove("/home/user/esc", { user: "root" }); // (root's relative paths are under /root)
    expect(await sbx.files.exists("esc")).toBe(false);
    expect(readFileSync(path.join(outside, "keep.txt"), "utf8")).toBe("host file");
    expect(existsSync(path.join(outside, "dir"))).toBe(true);
    expect(existsSync(path.join(outside, "planted.txt"))).toBe(false);
    expect(existsSync("/etc/hostname") || existsSync("/etc/passwd")).toBe(true);
  });

  it("lists and removes FIFOs without opening them", async () => {
    await sbx.commands.run("mkdir -p fifo && mkfifo fifo/pipe && echo x > fifo/f.txt");
    expect((await sbx.files.list("fifo")).map((e) => e.name)).toEqual(["f.txt"]); // type unknown: the SDK skips it
    expect((await sbx.files.getInfo("fifo/pipe")).permissions).toBe("prw-r--r--");
    await sbx.files.remove("fifo/pipe");
    expect(await sbx.files.exists("fifo/pipe")).toBe(false);
  });
});

describe("watchDir", () => {
  const collect = () => {
    const events: FilesystemEvent[] = [];
    const has = (type: FilesystemEventType, name: string) => () => events.some((e) => e.type === type && e.name === name);
    return { events, has, onEvent: (e: FilesystemEvent) => void events.push(e) };
  };

  it("streams create, write, chmod, rename and remove events of a directory", async () => {
    await sbx.files.makeDir("w");
    await sbx.files.write("w/existing.txt", "1");
    const { events, has, onEvent } = collect();
    const handle = await sbx.files.watchDir("w", onEvent);
    await sbx.files.write("w/new.txt", "hello");
    await waitFor("create new.txt", has(FilesystemEventType.CREATE, "new.txt"));
    await sbx.files.write("w/existing.txt", "2");
    await waitFor("write existing.txt", has(FilesystemEventType.WRITE, "existing.txt"));
    await sbx.commands.run("chmod 600 w/existing.txt");
    await waitFor("chmod existing.txt", has(FilesystemEventType.CHMOD, "existing.txt"));
    await sbx.files.rename("w/new.txt", "w/renamed.txt");
    await waitFor("rename new.txt", has(FilesystemEventType.RENAME, "new.txt"));
    await waitFor("create renamed.txt", has(FilesystemEventType.CREATE, "renamed.txt"));
    await sbx.files.remove("w/renamed.txt");
    await waitFor("remove renamed.txt", has(FilesystemEventType.REMOVE, "renamed.txt"));
    await handle.stop();
    expect(events.some((e) => e.name.includes("/"))).toBe(false);
    // One rename(2): the old name is a rename (not a remove), as envd reports it.
    expect(events.some((e) => e.type === FilesystemEventType.REMOVE && e.name === "new.txt")).toBe(false); // not recursive: names are entries
  });

  it("recursive: nested names, and directories created after the start are watched too", async () => {
    await sbx.files.makeDir("rw/nested");
    const { has, onEvent } = collect();
    const handle = await sbx.files.watchDir("rw", onEvent, { recursive: true });
    await sbx.files.write("rw/nested/file.txt", "x");
    await waitFor("write nested/file.txt", has(FilesystemEventType.WRITE, "nested/file.txt"));
    await sbx.files.makeDir("rw/later");
    await waitFor("create later", has(FilesystemEventType.CREATE, "later"));
    await sbx.files.write("rw/later/deep.txt", "y");
    await waitFor("create later/deep.txt", has(FilesystemEventType.CREATE, "later/deep.txt"));
    await handle.stop();
  });

  it("watches the workspace where the sandbox sees it (its bind mount), also from inside commands", async () => {
    const { has, onEvent } = collect();
    const handle = await sbx.files.watchDir("/home/user", onEvent, { recursive: true });
    const ws = collect();
    const wsHandle = await sbx.files.watchDir("/home/user/workspace", ws.onEvent);
    await sbx.commands.run("echo hi > /home/user/workspace/cmd.txt");
    await waitFor("create workspace/cmd.txt", has(FilesystemEventType.CREATE, "workspace/cmd.txt"));
    await waitFor("create cmd.txt", ws.has(FilesystemEventType.CREATE, "cmd.txt"));
    await handle.stop();
    await wsHandle.stop();
  });

  it("refuses a missing path (NotFoundError) and a file (InvalidArgumentError); ends at timeoutMs with TimeoutError", async () => {
    await expect(sbx.files.watchDir("no-such-dir", () => {})).rejects.toThrow(NotFoundError);
    await expect(sbx.files.watchDir("info/test_file.txt", () => {})).rejects.toThrow(InvalidArgumentError);
    let exit: unknown = "not yet";
    await sbx.files.watchDir("w", () => {}, { timeoutMs: 1_500, onExit: (e) => void (exit = e) });
    await waitFor("onExit", () => exit !== "not yet");
    expect(exit).toBeInstanceOf(TimeoutError);
  });

  it(`caps the watchers of a sandbox (RateLimitError), and ends every stream when the sandbox is killed`, async () => {
    const other = await Sandbox.create("base", { ...opts, timeoutMs: 120_000 });
    const exits: unknown[] = [];
    for (let i = 0; i < 16; i++) await other.files.watchDir("/tmp", () => {}, { timeoutMs: 0, onExit: (e) => void exits.push(e) });
    const capped = await other.files.watchDir("/tmp", () => {}).catch((e: unknown) => e);
    expect(capped).toBeInstanceOf(RateLimitError);
    expect(String(capped)).toMatch(/16 directory watchers \(limit 16\)/);
    await other.kill();
    await waitFor("every onExit", () => exits.length === 16);
    for (const e of exits) expect(e).toBeInstanceOf(TimeoutError);
  });
});

describe("wire", () => {
  it("speaks envd's protobuf JSON, validates fields by name and names what it does not implement", async () => {
    const res = await fetch(`${host.url}/filesystem.Filesystem/Stat`, {
      method: "POST",
      headers: await rpcHeaders("application/json"),
      body: JSON.stringify({ path: "/home/user/info/test_file.txt" }),
    });
    expect(res.status).toBe(200);
    const { entry } = (await res.json()) as { entry: Record<string, unknown> };
    expect(entry).toMatchObject({ type: "FILE_TYPE_FILE", size: "4", mode: 0o644, permissions: "-rw-r--r--" });
    expect(entry.modifiedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const unary = async (method: string, body: unknown) => {
      const r = await fetch(`${host.url}/filesystem.Filesystem/${method}`, {
        method: "POST",
        headers: await rpcHeaders("application/json"),
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as { code: string; message: string } };
    };
    expect(await unary("ListDir", { path: "/home/user", depth: "2" })).toMatchObject({
      status: 400,
      body: { code: "invalid_argument", message: expect.stringMatching(/^depth must be a positive integer/) },
    });
    expect(await unary("Move", { source: "info/test_file.txt" })).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^destination is required/) },
    });
    expect(await unary("CreateWatcher", { path: "/home/user" })).toMatchObject({
      status: 501,
      body: { code: "unimplemented", message: expect.stringMatching(/filesystem\.Filesystem\/CreateWatcher is not implemented/) },
    });
    const stream = await fetch(`${host.url}/filesystem.Filesystem/WatchDir`, {
      method: "POST",
      headers: await rpcHeaders("application/connect+json"),
      body: new Uint8Array(envelope({ path: "/home/user", recursive: "yes" })),
    });
    expect(stream.status).toBe(200);
    const bytes = Buffer.from(await stream.arrayBuffer());
    expect(bytes[0]).toBe(0x02); // only the end-of-stream envelope
    expect(JSON.parse(bytes.subarray(5).toString())).toEqual({
      error: { code: "invalid_argument", message: "recursive must be a boolean" },
    });
  });
});

function envelope(message: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

async function rpcHeaders(contentType: string): Promise<Record<string, string>> {
  const res = await fetch(`${host.url}/sandboxes/${sbx.sandboxId}`, { headers: { "x-api-key": host.apiKey } });
  const token = ((await res.json()) as { envdAccessToken: string }).envdAccessToken;
  return { "content-type": contentType, "e2b-sandbox-id": sbx.sandboxId, "x-access-token": token };
}
