import { describe, expect, test } from "vitest";
import { globToRegExp, staticPrefix } from "./glob.js";

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
    expect(m("a+(b).md", "a+(b).md")).toBe(true);
    expect(m("a.md", "aXmd")).toBe(false);
    expect(m("./docs/*.md", "docs/a.md")).toBe(true);
  });

  test("staticPrefix is where a walk can start", () => {
    expect(staticPrefix("src/lib/**/*.ts")).toBe("src/lib");
    expect(staticPrefix("**/*.ts")).toBe("");
    expect(staticPrefix("notes.md")).toBe("");
    expect(staticPrefix("a/b.md")).toBe("a");
  });
});
