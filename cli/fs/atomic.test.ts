import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { writeFilesAtomically } from "./atomic.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tree(): string {
  const d = mkdtempSync(join(tmpdir(), "lakitu-atomic-"));
  dirs.push(d);
  writeFileSync(join(d, "a.txt"), "old a");
  return d;
}

test("writes every file, creating folders", () => {
  const d = tree();
  writeFilesAtomically([
    { path: join(d, "a.txt"), content: "new a" },
    { path: join(d, "x/y/b.txt"), content: "b" },
  ]);
  expect(readFileSync(join(d, "a.txt"), "utf8")).toBe("new a");
  expect(readFileSync(join(d, "x/y/b.txt"), "utf8")).toBe("b");
  expect(readdirSync(d).sort()).toEqual(["a.txt", "x"]);
});

test("a failure half-way restores what was renamed and removes what was created", () => {
  const d = tree();
  expect(() =>
    writeFilesAtomically(
      [
        { path: join(d, "a.txt"), content: "new a" },
        { path: join(d, "x/b.txt"), content: "b" },
        { path: join(d, "c.txt"), content: "c" },
      ],
      {
        beforeRename: (_p, i) => {
          if (i === 2) throw new Error("disk full");
        },
      },
    ),
  ).toThrow("disk full");
  expect(readFileSync(join(d, "a.txt"), "utf8")).toBe("old a");
  expect(existsSync(join(d, "x"))).toBe(false);
  expect(readdirSync(d)).toEqual(["a.txt"]);
});
