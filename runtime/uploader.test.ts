import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LakituClient } from "./client.js";
import { FakeComponent, testToken } from "./testing/fakeComponent.js";
import { FAST_RETRY } from "./testing/harness.js";
import { Uploader } from "./uploader.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
let fake: FakeComponent;
let dir: string;
let token: string;
let events: Array<{ kind: string; text: string }>;
let uploader: Uploader;

beforeEach(async () => {
  token = testToken();
  fake = await new FakeComponent({ token, generation: 1 }).start();
  dir = await mkdtemp(join(tmpdir(), "lakitu-up-"));
  events = [];
  const client = new LakituClient({ url: fake.url, token, generation: 1, retry: FAST_RETRY });
  uploader = new Uploader(client, join(dir, "out"), {
    declaredTypes: new Map([["notes.md", "text"]]),
    secrets: [token],
    onEvent: (kind, text) => events.push({ kind, text }),
  });
  await mkdir(join(dir, "out", "sub"), { recursive: true });
});
afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe("Uploader", () => {
  it("uploads new and changed files once, with sha256 and a type from the extension or the deliverable", async () => {
    await writeFile(join(dir, "out", "report.md"), "# R");
    await writeFile(join(dir, "out", "notes.md"), "n");
    await writeFile(join(dir, "out", "sub", "data.csv"), "a,b\n1,2\n");
    await writeFile(join(dir, "out", "blob"), "bin");
    expect(await uploader.sync()).toEqual({ uploaded: 4 });
    expect(fake.artifacts.get("report.md")).toMatchObject({ sha256: sha("# R"), type: "markdown", contentType: "text/markdown; charset=utf-8" });
    expect(fake.artifacts.get("notes.md")).toMatchObject({ type: "text" });
    expect(fake.artifacts.get("sub/data.csv")).toMatchObject({ type: "csv", sha256: sha("a,b\n1,2\n") });
    expect(fake.artifacts.get("blob")).toMatchObject({ type: "file", contentType: "application/octet-stream" });

    expect(await uploader.sync()).toEqual({ uploaded: 0 });
    expect(fake.requests.filter((r) => r.path === "artifacts")).toHaveLength(4);

    await writeFile(join(dir, "out", "report.md"), "# R v2");
    expect(await uploader.sync()).toEqual({ uploaded: 1 });
    expect(fake.artifacts.get("report.md")).toMatchObject({ version: 2, sha256: sha("# R v2") });
    expect(uploader.manifest()).toEqual([
      { name: "blob", type: "file", sha256: sha("bin") },
      { name: "notes.md", type: "text", sha256: sha("n") },
      { name: "report.md", type: "markdown", sha256: sha("# R v2") },
      { name: "sub/data.csv", type: "csv", sha256: sha("a,b\n1,2\n") },
    ]);
  });

  it("never follows symlinks, skips empty files, refuses files holding the token, and says so once", async () => {
    await writeFile(join(dir, "secret.txt"), "outside the output folder");
    await symlink(join(dir, "secret.txt"), join(dir, "out", "link.txt"));
    await symlink("/proc/self/environ", join(dir, "out", "environ"));
    await writeFile(join(dir, "out", "empty.md"), "");
    await writeFile(join(dir, "out", "leak.txt"), `token: ${token}`);
    await writeFile(join(dir, "out", "ok.txt"), "ok");
    await uploader.sync();
    await uploader.sync();
    expect([...fake.artifacts.keys()]).toEqual(["ok.txt"]);
    expect(events.filter((e) => e.kind === "error").map((e) => e.text).sort()).toEqual([
      "empty.md is empty; empty files are not uploaded",
      "environ is a symbolic link; links are not uploaded",
      "leak.txt contains the session token; it was not uploaded",
      "link.txt is a symbolic link; links are not uploaded",
    ]);
    expect(uploader.manifest()).toEqual([{ name: "ok.txt", type: "text", sha256: sha("ok") }]);
  });

  it("leaves deleted files out of the manifest", async () => {
    await writeFile(join(dir, "out", "a.md"), "a");
    await uploader.sync();
    await rm(join(dir, "out", "a.md"));
    await uploader.sync();
    expect(uploader.manifest()).toEqual([]);
  });
});
