import { mkdir, mkdtemp, readFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, test } from "vitest";
import { createKsaModule, type KsaModule } from "../module.js";
import { BUILTIN_KSAS } from "./index.js";

let dir: string;
let artifacts: KsaModule[string];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ksa-artifacts-"));
  const ctx = { workspace: dir, outputDir: join(dir, "out"), gateway: async () => null };
  artifacts = createKsaModule(ctx, BUILTIN_KSAS, ["artifacts"], "Test").artifacts;
});

describe("artifacts", () => {
  test("save writes into the output folder (created on demand) and reports the workspace path", async () => {
    expect(await artifacts.save({ name: "report.md", content: "# Report\n" })).toEqual({ name: "report.md", path: "out/report.md", bytes: 9 });
    expect(await readFile(join(dir, "out/report.md"), "utf8")).toBe("# Report\n");
    expect(await artifacts.save({ name: "charts/q1/data.csv", content: "a,b\n" })).toEqual({ name: "charts/q1/data.csv", path: "out/charts/q1/data.csv", bytes: 4 });
  });

  test("base64 content is decoded; invalid base64 is refused", async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]);
    expect(await artifacts.save({ name: "x.png", content: png.toString("base64"), encoding: "base64" })).toMatchObject({ bytes: 10 });
    expect(await readFile(join(dir, "out/x.png"))).toEqual(png);
    await expect(artifacts.save({ name: "y.png", content: "not base64!", encoding: "base64" })).rejects.toThrow("artifacts.save: content is not valid base64");
    await expect(artifacts.save({ name: "y.png", content: "abc", encoding: "hex" })).rejects.toThrow(/params\.encoding: invalid option/);
  });

  test.each([
    ["../escape.md", /has an empty, "\." or "\.\." segment/],
    ["a/../../b.md", /segment/],
    ["/etc/passwd", /is absolute/],
    ["dir\\file.md", /backslash/],
    ["a//b.md", /segment/],
    ["bad\u0007name.md", /control characters/],
    ["x".repeat(201), /params\.name: too big|limit is 200/],
  ])("refuses the name %j", async (name, message) => {
    await expect(artifacts.save({ name, content: "x" })).rejects.toThrow(message);
  });

  test("a symlink in the output folder cannot lead a save outside the workspace", async () => {
    await mkdir(join(dir, "out"), { recursive: true });
    await symlink("/etc", join(dir, "out/etc"));
    await expect(artifacts.save({ name: "etc/lakitu-test.txt", content: "x" })).rejects.toThrow(/outside the workspace/);
  });

  test("list: names relative to the output folder, recursive, sorted; empty before anything is saved", async () => {
    expect(await artifacts.list()).toEqual([]);
    await artifacts.save({ name: "z.md", content: "z" });
    await artifacts.save({ name: "b/inner.json", content: "{}" });
    await artifacts.save({ name: "a.txt", content: "a" });
    expect(await artifacts.list()).toEqual(["a.txt", "b/inner.json", "z.md"]);
  });
});
