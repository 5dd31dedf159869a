/** `lakitu demo` itself, as a user runs it: exit code, the final verdict and the files it writes. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";

test("lakitu demo reaches Done, recovers from a QA failure, reaps an idle sandbox and writes the artifacts", () => {
  const out = mkdtempSync(join(tmpdir(), "lakitu-demo-"));
  try {
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/index.ts", "demo", `--out=${out}`], {
      cwd: join(import.meta.dirname, "..", ".."),
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 150_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("Draft attempt 1: failed");
    expect(r.stdout).toContain("missing: figures.csv");
    expect(r.stdout).toContain("Draft attempt 2: passed");
    expect(r.stdout).toMatch(/reaper\s+killed idle sandbox/);
    expect(r.stdout).toMatch(/budget\s+"A card with a small budget" paused: budget reached \(maxSteps\)/);
    expect(r.stdout).toMatch(/budget\s+the resumed card reached Done/);
    expect(r.stdout).toContain("resumed: restored 1 of 1 file(s) of the paused run");
    expect(r.stdout).toContain("✔ card reached Done, every stage's QA passed, idle sandbox reaped, paused card resumed to Done");
    expect(r.stdout).not.toContain("\u001b["); // NO_COLOR respected
    for (const f of ["Research/notes.md", "Research/sources.json", "Draft/article.md", "Draft/figures.csv", "Draft/article.pdf", "Review/review.md"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, "Draft/article.pdf")).subarray(0, 5).toString()).toBe("%PDF-");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
