/** The QA regex check: linear-time engine, patterns refused at save time with the field path, text cap. */
import { describe, expect, test } from "vitest";
import { checkDeliverables, markdownHeadings } from "./qa.js";
import { compileRegex, MAX_REGEX_PROGRAM_SIZE, MAX_REGEX_SOURCE_CHARS, MAX_REGEX_TEXT_CHARS, testRegex } from "./regexCheck.js";
import { checkStage } from "../model/validate.js";
import type { Deliverable } from "./validators.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const regexCheck = (regex: string, text: string) => {
  const d: Deliverable = { name: "r.txt", type: "text", checks: { regex } };
  const bytes = utf8(text);
  return checkDeliverables([d], [{ name: "r.txt", size: bytes.length, bytes }]).checks.find((c) => c.check === "regex");
};
const stageError = (regex: string): string => {
  try {
    checkStage("stages[2]", { name: "s", kind: "agent", deliverables: [{ name: "a.md", type: "markdown" }, { name: "b.md", type: "markdown", checks: { regex } }] });
  } catch (e) {
    return JSON.stringify((e as { data?: unknown }).data);
  }
  return "accepted";
};

describe("regex checks on the linear-time engine", () => {
  test("a catastrophic-backtracking pattern answers on a large text (a backtracking engine would not)", () => {
    // (a+)+$ against "aaaa…!" is exponential in JavaScript's RegExp; RE2 is linear.
    const text = `${"a".repeat(200_000)}!`;
    expect(regexCheck("(a+)+$", text)).toMatchObject({ ok: false, reason: "content does not match /(a+)+$/" });
    expect(regexCheck("(a|aa)*!$", text)).toMatchObject({ ok: true, reason: "matches /(a|aa)*!$/" });
  });

  test("JavaScript-compatible basics: unanchored, ^ is the text start, . stops at newlines, (?i) works", () => {
    expect(regexCheck("^# Title", "# Title\nbody")?.ok).toBe(true);
    expect(regexCheck("^body", "# Title\nbody")?.ok).toBe(false);
    expect(regexCheck("Title.body", "# Title\nbody")?.ok).toBe(false);
    expect(regexCheck("(?i)TITLE", "# Title")?.ok).toBe(true);
  });

  test.each([
    ["(a)\\1", "backreference"],
    ["foo(?=bar)", "lookahead"],
    ["(?!x)y", "negative lookahead"],
    ["(?<=x)y", "lookbehind"],
    ["(?<!x)y", "negative lookbehind"],
  ])("%s (%s) is refused when the stage is saved, naming the field path", (regex) => {
    const err = stageError(regex);
    expect(err).toContain('"code":"invalid_argument"');
    expect(err).toContain("stages[2].deliverables[1].checks.regex does not compile on the linear-time engine");
    expect(err).toContain("without backreferences");
  });

  test("an over-long or too complex pattern is refused with the limit", () => {
    expect(stageError("x".repeat(MAX_REGEX_SOURCE_CHARS + 1))).toContain(
      `stages[2].deliverables[1].checks.regex is ${MAX_REGEX_SOURCE_CHARS + 1} characters; the limit is ${MAX_REGEX_SOURCE_CHARS}`,
    );
    const complex = "\\w{1000}".repeat(6);
    expect(compileRegex(complex)).toMatchObject({ ok: false });
    expect(stageError(complex)).toContain(`is too complex (program size`);
    expect(stageError(complex)).toContain(`the limit is ${MAX_REGEX_PROGRAM_SIZE}`);
    expect(stageError("^# .+")).toBe("accepted");
  });

  test("text past the cap is not read: a match beyond it fails and says how much was checked", () => {
    const head = "x".repeat(MAX_REGEX_TEXT_CHARS);
    const c = compileRegex("NEEDLE");
    if (!c.ok) throw new Error(c.problem);
    expect(testRegex(c.re, "NEEDLE", `NEEDLE${head}`)).toEqual({ ok: true, reason: `matches /NEEDLE/ within the first ${MAX_REGEX_TEXT_CHARS} characters` });
    const late = testRegex(c.re, "NEEDLE", `${head}NEEDLE`);
    expect(late).toEqual({ ok: false, reason: `no match for /NEEDLE/: the regex check reads the first ${MAX_REGEX_TEXT_CHARS} of its ${MAX_REGEX_TEXT_CHARS + 6} characters; put the matching part earlier` });
    // A pattern that looks past its match ($, \b) cannot be decided on the prefix: it fails, never a false pass.
    for (const source of ["x$", "x\\b"]) {
      const end = compileRegex(source);
      if (!end.ok) throw new Error(end.problem);
      const r = testRegex(end.re, source, `${head}y`);
      expect(r.ok).toBe(false);
      expect(r.reason).toContain(`cannot check /${source}/: the regex check reads the first ${MAX_REGEX_TEXT_CHARS}`);
    }
  });

  test("markdown headings are scanned, not backtracked: long runs of spaces stay fast and parse the same", () => {
    // The old regex took ~5 s on a 50,000-space heading line; 400,000 would take minutes.
    const pad = " ".repeat(400_000);
    expect(markdownHeadings(`# a${pad}x\n## b${pad}#x\n### c ${pad}###${pad}\n#${pad}\n`)).toEqual([`a${pad}x`, `b${pad}#x`, "c", ""]);
    expect(markdownHeadings("# foo #\n# foo#\n# #\n####### seven\n#tag\n   # three\n    # four\n#\tTab\t#\t")).toEqual(["foo", "foo#", "", "three", "Tab"]);
  });
});
