/** The small pure pieces: sandbox path mapping, the files API's escape checks, multipart, metadata queries, envelopes. */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { envelope, parseEnvelopedRequest, requestTimeoutMs } from "./connectRpc.js";
import { parseMetadataQuery } from "./controlPlane.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import {
  hostPathFor,
  normalizeSandboxPath,
  NotAFileError,
  openForRead,
  openForWrite,
  PathEscapeError,
  sandboxDirs,
} from "./sandboxPaths.js";
import { tempRoot } from "./testing/helpers.js";

describe("sandbox paths", () => {
  const dirs = sandboxDirs("/r", "sbx");

  it("normalizes relative paths against /home/user and never climbs above /", () => {
    expect(normalizeSandboxPath("a/b")).toBe("/home/user/a/b");
    expect(normalizeSandboxPath("~/a")).toBe("/home/user/a");
    expect(normalizeSandboxPath("/home/user/workspace/../x/")).toBe("/home/user/x");
    expect(normalizeSandboxPath("../../../etc/passwd")).toBe("/etc/passwd");
  });

  it("maps only /home/user, its workspace and /tmp", () => {
    expect(hostPathFor(dirs, "/home/user/workspace/a")).toEqual({ hostPath: "/r/sbx/workspace/a", base: "/r/sbx/workspace" });
    expect(hostPathFor(dirs, "/home/user/.cache/x")).toEqual({ hostPath: "/r/sbx/home/.cache/x", base: "/r/sbx/home" });
    expect(hostPathFor(dirs, "/tmp/x")).toEqual({ hostPath: "/r/sbx/tmp/x", base: "/r/sbx/tmp" });
    expect(hostPathFor(dirs, "/home/user/workspace/../../../etc/passwd")).toBeUndefined();
    expect(hostPathFor(dirs, "/home/username/x")).toBeUndefined();
    expect(hostPathFor(dirs, "/tmpx")).toBeUndefined();
    expect(hostPathFor(dirs, "/etc/passwd")).toBeUndefined();
  });

  it("opens files only when they really lie inside the sandbox directory", () => {
    const root = tempRoot("paths");
    const base = path.join(root, "ws");
    mkdirSync(base);
    writeFileSync(path.join(root, "outside"), "secret");
    symlinkSync(path.join(root, "outside"), path.join(base, "link"));
    symlinkSync(root, path.join(base, "dirlink"));
    execFileSync("mkfifo", [path.join(base, "fifo")]);
    expect(() => openForRead(path.join(base, "link"), base)).toThrow(PathEscapeError);
    expect(() => openForRead(path.join(base, "dirlink", "outside"), base)).toThrow(PathEscapeError);
    expect(() => openForRead(path.join(base, "fifo"), base)).toThrow(NotAFileError); // and does not block
    expect(() => openForWrite(path.join(base, "link"), base)).toThrow(/ELOOP|ENOTDIR/);
    expect(() => openForWrite(path.join(base, "dirlink", "outside"), base)).toThrow(/ELOOP|ENOTDIR/);
    expect(() => openForWrite(path.join(base, "dirlink", "new", "f"), base)).toThrow(/ELOOP|ENOTDIR/);
    expect(() => openForWrite(path.join(base, "fifo"), base)).toThrow(/ENXIO/);
    expect(() => openForWrite(path.join(root, "outside"), base)).toThrow(PathEscapeError);
    expect(existsSync(path.join(root, "new"))).toBe(false);
    expect(readFileSync(path.join(root, "outside"), "utf8")).toBe("secret");
    closeSync(openForWrite(path.join(base, "a", "b", "f"), base));
    expect(statSync(path.join(base, "a", "b", "f")).isFile()).toBe(true);
  });
});

describe("wire formats", () => {
  it("parses the SDK's multipart upload", async () => {
    const form = new FormData();
    form.append("file", new Blob(["one"]), '/home/user/a "q".txt');
    form.append("file", new Blob([new Uint8Array([0, 13, 10, 45, 45])]), "/tmp/b");
    const req = new Request("http://x", { method: "POST", body: form });
    const boundary = boundaryOf(req.headers.get("content-type")!)!;
    const parts = parseMultipart(Buffer.from(await req.arrayBuffer()), boundary);
    expect(parts.map((p) => [p.name, p.filename, [...p.data]])).toEqual([
      ["file", '/home/user/a "q".txt', [...Buffer.from("one")]],
      ["file", "/tmp/b", [0, 13, 10, 45, 45]],
    ]);
  });

  it("decodes the SDK's metadata query (keys and values URL-encoded inside an encoded parameter)", () => {
    const metadata = { "lakitu.session": "a b/c=d&e", é: "ü" };
    const encoded = new URLSearchParams(
      Object.fromEntries(Object.entries(metadata).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])),
    ).toString();
    const url = new URL(`http://x/v2/sandboxes?${new URLSearchParams({ metadata: encoded })}`);
    expect(parseMetadataQuery(url.searchParams.get("metadata"))).toEqual(metadata);
    expect(parseMetadataQuery(null)).toBeUndefined();
  });

  it("round-trips Connect envelopes and reads Connect-Timeout-Ms", () => {
    expect(parseEnvelopedRequest(envelope({ process: { cmd: "/bin/bash" } }))).toEqual({ process: { cmd: "/bin/bash" } });
    expect(() => parseEnvelopedRequest(Buffer.from([0, 0]))).toThrow();
    expect(requestTimeoutMs("60000")).toBe(60_000);
    expect(requestTimeoutMs("0")).toBeUndefined();
    expect(requestTimeoutMs(undefined)).toBeUndefined();
    expect(requestTimeoutMs("12abc")).toBeUndefined();
  });
});
