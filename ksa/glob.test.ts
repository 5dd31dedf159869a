import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { globToRegExp, MAX_PATTERN_LENGTH, MAX_WALK_DEPTH, staticPrefix, walk } from "./glob.js";

const m = (pattern: string, path: string) => globToRegExp(pattern).test(path);

describe("globToRegExp", () => {
  test("* stays within one folder", () => {
    expect(m("*.md", "a.md")).toBe(true);
    expect(m("*.md", "dir/a.md")).toBe(false);
    expect(m("src/*.ts", "src/a.ts")).toBe(true);
    expect(m("src/*.ts", "src/x/a.ts")).toBe(false);
    expect(m("a*c", "abbbc")).toBe(true);
  });

  test("? matches exactly one character, never a slash", () => {
    expect(m("a?.txt", "ab.txt")).toBe(true);
    expect(m("a?.txt", "a.txt")).toBe(false);
    expect(m("a?b", "a/b")).toBe(false);
  });

  test("** matches any number of folders, including none", () => {
    expect(m("**/*.ts", "a.ts")).toBe(true);
    expect(m("**/*.ts", "x/y/a.ts")).toBe(true);
    expect(m("src/**/b.ts", "src/b.ts")).toBe(true);
    expect(m("src/**/b.ts", "src/x/y/b.ts")).toBe(true);
    expect(m("src/**/b.ts", "lib/src/b.ts")).toBe(false);
    expect(m("src/**", "src/x/y")).toBe(true);
    expect(m("src/**", "srcx/y")).toBe(false);
    expect(m("**", "anything/at/all")).toBe(true);
    expect(m("a/**/**/b", "a/b")).toBe(true);
  });

  test("regex characters are literal; ./ is ignored", () => {
    expect(m("a.md", "aXmd")).toBe(false);
    expect(m("a$b^c.md", "a$b^c.md")).toBe(true);
    expect(m("./docs/*.md", "docs/a.md")).toBe(true);
    expect(m("docs//*.md/", "docs/a.md")).toBe(true);
  });

  test("braces: alternatives and ranges", () => {
    expect(m("*.{md,txt}", "a.md")).toBe(true);
    expect(m("*.{md,txt}", "a.txt")).toBe(true);
    expect(m("*.{md,txt}", "a.ts")).toBe(false);
    expect(m("{src,lib}/**/*.ts", "lib/x/a.ts")).toBe(true);
    expect(m("{src,lib}/**/*.ts", "test/a.ts")).toBe(false);
    expect(m("part{1..3}.md", "part2.md")).toBe(true);
    expect(m("part{1..3}.md", "part4.md")).toBe(false);
    expect(m("{a}", "{a}")).toBe(true); // a single alternative is literal, as in bash
  });

  test("classes: [abc], ranges, POSIX classes, one character of a segment", () => {
    expect(m("[abc].md", "b.md")).toBe(true);
    expect(m("[abc].md", "d.md")).toBe(false);
    expect(m("v[0-9].txt", "v7.txt")).toBe(true);
    expect(m("v[0-9].txt", "vx.txt")).toBe(false);
    expect(m("[[:digit:]]*", "1st.md")).toBe(true);
    expect(m("[ab]", "a/b")).toBe(false);
    expect(m("a[*]b", "a*b")).toBe(true); // a class is how to match a special character literally
    expect(m("a[*]b", "axb")).toBe(false);
  });

  test("negated classes: [!a] and [^a]", () => {
    expect(m("[!a].md", "b.md")).toBe(true);
    expect(m("[!a].md", "a.md")).toBe(false);
    expect(m("[^a].md", "b.md")).toBe(true);
    expect(m("[^a].md", "a.md")).toBe(false);
    expect(m("[!a-c]*", "d.md")).toBe(true);
    expect(m("[!a-c]*", "b.md")).toBe(false);
  });

  test("extglobs: +(a|b), *(…), ?(…), @(…), !(…)", () => {
    expect(m("+(a|b).md", "abba.md")).toBe(true);
    expect(m("+(a|b).md", ".md")).toBe(false);
    expect(m("+(a|b).md", "abc.md")).toBe(false);
    expect(m("x*(y).md", "x.md")).toBe(true);
    expect(m("x*(y).md", "xyyy.md")).toBe(true);
    expect(m("x?(y).md", "xyy.md")).toBe(false);
    expect(m("src/@(lib|bin)/*.ts", "src/bin/a.ts")).toBe(true);
    expect(m("src/@(lib|bin)/*.ts", "src/test/a.ts")).toBe(false);
    expect(m("!(draft).md", "final.md")).toBe(true);
    expect(m("!(draft).md", "draft.md")).toBe(false);
  });

  test("plain parentheses, | and a leading ! stay literal", () => {
    expect(m("file (1).txt", "file (1).txt")).toBe(true);
    expect(m("file (1).txt", "file 1.txt")).toBe(false);
    expect(m("*(1).txt", "file (1).txt")).toBe(false); // *( opens an extglob
    expect(m("* (1).txt", "file (1).txt")).toBe(true);
    expect(m("a|b", "a|b")).toBe(true);
    expect(m("a|b", "a")).toBe(false);
    expect(m("!notes.md", "!notes.md")).toBe(true);
    expect(m("!notes.md", "other.md")).toBe(false);
  });

  test("dotfiles and dot-folders match like any other name", () => {
    expect(m("*.md", ".hidden.md")).toBe(true);
    expect(m("*", ".env")).toBe(true);
    expect(m("**/*.yml", ".github/workflows/ci.yml")).toBe(true);
    expect(m("**", ".git/config")).toBe(true);
    expect(m(".*", ".env")).toBe(true);
    expect(m(".*", "env")).toBe(false);
  });

  test("an invalid, empty or too long pattern is a clear error", () => {
    expect(() => globToRegExp("a[")).toThrow('pattern "a[" is not a valid glob: "[" is never closed by "]" (to match "[" literally, write "[[]")');
    expect(() => globToRegExp("+(a|b")).toThrow('pattern "+(a|b" is not a valid glob: "(" is never closed by ")"');
    expect(() => globToRegExp("*.{md,txt")).toThrow('pattern "*.{md,txt" is not a valid glob: "{" is never closed by "}"');
    expect(() => globToRegExp("a]")).toThrow('pattern "a]" is not a valid glob: "]" has no opening "[" (to match "]" literally, write "[]]")');
    expect(() => globToRegExp("[z-a]")).toThrow(/^pattern "\[z-a\]" is not a valid glob: Invalid regular expression: .*Range out of order/);
    expect(() => globToRegExp("./")).toThrow('pattern "./" is empty; use "**" for everything');
    expect(() => globToRegExp(`${"a/".repeat(512)}b`)).toThrow(`pattern is ${MAX_PATTERN_LENGTH + 1} characters long; at most ${MAX_PATTERN_LENGTH} are allowed`);
  });

  test("staticPrefix is where a walk can start", () => {
    expect(staticPrefix("src/lib/**/*.ts")).toBe("src/lib");
    expect(staticPrefix("**/*.ts")).toBe("");
    expect(staticPrefix("notes.md")).toBe("");
    expect(staticPrefix("a/b.md")).toBe("a");
    expect(staticPrefix("docs/{a,b}/*.md")).toBe("docs");
    expect(staticPrefix("docs/[ab]/x.md")).toBe("docs");
    expect(staticPrefix("docs/+(a)/x.md")).toBe("docs");
    expect(staticPrefix("{docs,src}/x.md")).toBe("");
  });
});

describe("walk", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ksa-walk-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function all(start = dir, rel = "") {
    const out: string[] = [];
    for await (const e of walk(start, rel)) out.push(`${e.kind}:${e.rel}`);
    return out;
  }

  test("yields entries sorted per folder and reports symlinks without entering them", async () => {
    await mkdir(join(dir, "b/c"), { recursive: true });
    await writeFile(join(dir, "a.txt"), "");
    await writeFile(join(dir, "b/c/d.txt"), "");
    const outside = await mkdtemp(join(tmpdir(), "ksa-walk-outside-"));
    await writeFile(join(outside, "secret.txt"), "");
    await symlink(outside, join(dir, "link"));
    try {
      expect(await all()).toEqual(["file:a.txt", "dir:b", "symlink:link", "dir:b/c", "file:b/c/d.txt"]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test("folders nested deeper than the limit stop the walk with an error", async () => {
    const deep = join(dir, ...Array.from({ length: MAX_WALK_DEPTH + 1 }, () => "d"));
    await mkdir(deep, { recursive: true });
    await expect(all()).rejects.toThrow(new RegExp(`^folders are nested more than ${MAX_WALK_DEPTH} levels deep under "\\."`));
    await mkdir(join(dir, "ok/x"), { recursive: true });
    expect(await all(join(dir, "ok"), "ok")).toEqual(["dir:ok/x"]);
  });
});

describe("through file.glob / file.grep", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ksa-glob-"));
    for (const f of ["docs/a.md", "docs/b.txt", "docs/c.ts", "docs/draft.md", "src/lib/x.ts", "src/bin/y.ts", ".github/ci.yml", "file (1).txt"]) {
      await mkdir(join(dir, f, ".."), { recursive: true });
      await writeFile(join(dir, f), "needle\n");
    }
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file() {
    const { createKsaModule } = await import("./module.js");
    const { BUILTIN_KSAS } = await import("./builtins/index.js");
    return createKsaModule({ workspace: dir, outputDir: join(dir, "out"), gateway: async () => null }, BUILTIN_KSAS, ["file"], "Test").file;
  }

  test("braces, classes, negated classes and extglobs find the right files", async () => {
    const f = await file();
    expect(await f.glob({ pattern: "docs/*.{md,txt}" })).toEqual(["docs/a.md", "docs/b.txt", "docs/draft.md"]);
    expect(await f.glob({ pattern: "docs/[ab].*" })).toEqual(["docs/a.md", "docs/b.txt"]);
    expect(await f.glob({ pattern: "docs/[!a]*.md" })).toEqual(["docs/draft.md"]);
    expect(await f.glob({ pattern: "docs/!(draft).md" })).toEqual(["docs/a.md"]);
    expect(await f.glob({ pattern: "src/+(lib|bin)/*.ts" })).toEqual(["src/bin/y.ts", "src/lib/x.ts"]);
    expect(await f.glob({ pattern: "{docs,src}/**/*.ts" })).toEqual(["docs/c.ts", "src/bin/y.ts", "src/lib/x.ts"]);
    expect(await f.glob({ pattern: "**/*.yml" })).toEqual([".github/ci.yml"]);
    expect(await f.glob({ pattern: "file (1).txt" })).toEqual(["file (1).txt"]);
    expect(await f.grep({ pattern: "needle", glob: "docs/*.@(md|ts)" })).toEqual([
      { path: "docs/a.md", line: 1, text: "needle" },
      { path: "docs/c.ts", line: 1, text: "needle" },
      { path: "docs/draft.md", line: 1, text: "needle" },
    ]);
  });

  test("an invalid pattern fails the call with the reason", async () => {
    const f = await file();
    await expect(f.glob({ pattern: "docs/*.{md" })).rejects.toThrow('file.glob: pattern "docs/*.{md" is not a valid glob: "{" is never closed by "}"');
  });
});
