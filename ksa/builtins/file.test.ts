import { mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, test } from "vitest";
import { createKsaModule, type KsaModule } from "../module.js";
import { BUILTIN_KSAS } from "./index.js";

let dir: string;
let file: KsaModule[string];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ksa-file-"));
  const ctx = { workspace: dir, outputDir: join(dir, "out"), gateway: async () => null };
  file = createKsaModule(ctx, BUILTIN_KSAS, ["file"], "Test").file;
});

describe("file.read / write / edit", () => {
  test("write creates parent folders and reports bytes; read returns the text", async () => {
    expect(await file.write({ path: "notes/day1/a.md", content: "héllo\n" })).toEqual({ path: "notes/day1/a.md", bytes: 7 });
    expect(await readFile(join(dir, "notes/day1/a.md"), "utf8")).toBe("héllo\n");
    expect(await file.read({ path: "notes/day1/a.md" })).toBe("héllo\n");
    expect(await file.write({ path: "./notes/../b.txt", content: "" })).toEqual({ path: "b.txt", bytes: 0 });
  });

  test("read cuts at maxBytes and says so", async () => {
    await file.write({ path: "big.txt", content: "x".repeat(1000) });
    const text = (await file.read({ path: "big.txt", maxBytes: 10 })) as string;
    expect(text.startsWith("xxxxxxxxxx\n[truncated: showed 10 of 1000 bytes")).toBe(true);
  });

  test("read of a folder or a missing file fails clearly", async () => {
    await mkdir(join(dir, "d"));
    await expect(file.read({ path: "d" })).rejects.toThrow('file.read: "d" is a directory; use file.list');
    await expect(file.read({ path: "nope.md" })).rejects.toThrow('file.read: "nope.md" does not exist');
  });

  test("edit replaces a unique match, all matches on request, and refuses absent or ambiguous text", async () => {
    await file.write({ path: "a.txt", content: "one two one $& three" });
    expect(await file.edit({ path: "a.txt", find: "two", replace: "2" })).toEqual({ replacements: 1 });
    expect(await file.read({ path: "a.txt" })).toBe("one 2 one $& three");
    await expect(file.edit({ path: "a.txt", find: "one", replace: "1" })).rejects.toThrow(/occurs 2 times in "a.txt"; .*all: true/);
    expect(await file.edit({ path: "a.txt", find: "one", replace: "$&1", all: true })).toEqual({ replacements: 2 });
    expect(await file.read({ path: "a.txt" })).toBe("$&1 2 $&1 $& three");
    await expect(file.edit({ path: "a.txt", find: "zebra", replace: "z" })).rejects.toThrow('file.edit: the text to find does not occur in "a.txt"');
    await expect(file.edit({ path: "missing.txt", find: "a", replace: "b" })).rejects.toThrow(/does not exist/);
  });
});

describe("file.list / glob / grep", () => {
  beforeEach(async () => {
    await file.write({ path: "README.md", content: "# Title\nTODO: intro\n" });
    await file.write({ path: "src/a.ts", content: "const a = 1;\n// TODO fix a\n" });
    await file.write({ path: "src/lib/b.ts", content: "export const b = 2;\n" });
    await file.write({ path: "src/lib/c.md", content: "todo lowercase\nTODO upper\n" });
    await writeFile(join(dir, "src/bin.dat"), Buffer.from([0x54, 0x4f, 0x44, 0x4f, 0, 1, 2]));
  });

  test("list: names, folders with a trailing slash, sorted; the root by default", async () => {
    expect(await file.list()).toEqual(["README.md", "src/"]);
    expect(await file.list({ path: "src" })).toEqual(["a.ts", "bin.dat", "lib/"]);
    await expect(file.list({ path: "README.md" })).rejects.toThrow(/is not a folder/);
  });

  test("glob: *, ** and ?", async () => {
    expect(await file.glob({ pattern: "**/*.ts" })).toEqual(["src/a.ts", "src/lib/b.ts"]);
    expect(await file.glob({ pattern: "src/*.ts" })).toEqual(["src/a.ts"]);
    expect(await file.glob({ pattern: "src/lib/?.*" })).toEqual(["src/lib/b.ts", "src/lib/c.md"]);
    expect(await file.glob({ pattern: "*" })).toEqual(["README.md", "src/"]);
    expect(await file.glob({ pattern: "**/*.md" })).toEqual(["README.md", "src/lib/c.md"]);
    expect(await file.glob({ pattern: "nothing/**" })).toEqual([]);
  });

  test("grep: regex matches with 1-based lines, glob filter, bounded, binary files skipped", async () => {
    expect(await file.grep({ pattern: "TODO" })).toEqual([
      { path: "README.md", line: 2, text: "TODO: intro" },
      { path: "src/a.ts", line: 2, text: "// TODO fix a" },
      { path: "src/lib/c.md", line: 2, text: "TODO upper" },
    ]);
    expect(await file.grep({ pattern: "todo", glob: "**/*.md" })).toEqual([{ path: "src/lib/c.md", line: 1, text: "todo lowercase" }]);
    expect(await file.grep({ pattern: "const \\w = \\d", glob: "src/**" })).toHaveLength(2);
    expect(await file.grep({ pattern: "TODO", maxMatches: 1 })).toHaveLength(1);
    await expect(file.grep({ pattern: "(" })).rejects.toThrow(/file\.grep: pattern is not a valid regular expression/);
  });
});

describe("workspace confinement", () => {
  test("absolute paths and .. escapes are refused for every function", async () => {
    await expect(file.read({ path: "/etc/passwd" })).rejects.toThrow('file.read: path "/etc/passwd" is absolute; give a path relative to the workspace');
    await expect(file.read({ path: "../x" })).rejects.toThrow('file.read: path "../x" escapes the workspace');
    await expect(file.read({ path: "a/../../x" })).rejects.toThrow(/escapes the workspace/);
    await expect(file.write({ path: "../x", content: "no" })).rejects.toThrow(/escapes the workspace/);
    await expect(file.write({ path: "/tmp/x", content: "no" })).rejects.toThrow(/is absolute/);
    await expect(file.edit({ path: "../x", find: "a", replace: "b" })).rejects.toThrow(/escapes the workspace/);
    await expect(file.list({ path: ".." })).rejects.toThrow(/escapes the workspace/);
    await expect(file.glob({ pattern: "../*" })).rejects.toThrow(/escapes the workspace/);
    await expect(file.glob({ pattern: "/etc/*" })).rejects.toThrow(/is absolute/);
    await expect(file.grep({ pattern: "root", glob: "../**" })).rejects.toThrow(/escapes the workspace/);
  });

  test("a symlink inside the workspace pointing to /etc is never followed, for reading or writing", async () => {
    await symlink("/etc", join(dir, "etc"));
    await symlink("/etc/passwd", join(dir, "passwd"));
    await expect(file.read({ path: "etc/passwd" })).rejects.toThrow('file.read: path "etc/passwd" resolves through a symlink to outside the workspace');
    await expect(file.read({ path: "passwd" })).rejects.toThrow(/resolves through a symlink to outside the workspace/);
    await expect(file.write({ path: "etc/lakitu-test", content: "x" })).rejects.toThrow(/resolves through a symlink to outside/);
    await expect(file.write({ path: "etc/new/deep.txt", content: "x" })).rejects.toThrow(/resolves through a symlink to outside/);
    await expect(file.write({ path: "passwd", content: "x" })).rejects.toThrow(/resolves through a symlink to outside/);
    await expect(file.edit({ path: "passwd", find: "root", replace: "x" })).rejects.toThrow(/outside the workspace/);
    await expect(file.list({ path: "etc" })).rejects.toThrow(/outside the workspace/);
    await expect(file.glob({ pattern: "etc/*" })).rejects.toThrow(/outside the workspace/);
    // Walks do not descend into or read through symlinks.
    expect(await file.grep({ pattern: "root" })).toEqual([]);
    expect(await file.glob({ pattern: "**/passwd*" })).toEqual(["passwd"]);
  });

  test("a dangling symlink is not written through", async () => {
    const outside = join(await mkdtemp(join(tmpdir(), "ksa-outside-")), "created.txt");
    await symlink(outside, join(dir, "dangling"));
    await expect(file.write({ path: "dangling", content: "x" })).rejects.toThrow(/symlink whose target does not exist/);
    await expect(readFile(outside)).rejects.toThrow(/ENOENT/);
  });

  test("a symlink that stays inside the workspace works", async () => {
    await file.write({ path: "real/a.txt", content: "inside" });
    await symlink(join(dir, "real"), join(dir, "alias"));
    expect(await file.read({ path: "alias/a.txt" })).toBe("inside");
    expect(await file.write({ path: "alias/b.txt", content: "x" })).toEqual({ path: "real/b.txt", bytes: 1 });
  });
});
