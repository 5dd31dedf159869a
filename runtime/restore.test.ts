import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { restoreFiles } from "./restore.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("restoreFiles (a resumed run's files)", () => {
  it("writes each file the component serves, checks its hash and keeps names inside the output folder", async () => {
    const out = mkdtempSync(join(tmpdir(), "lakitu-restore-"));
    dirs.push(out);
    const served: Record<string, string> = { a1: "# Draft\n", a2: "tampered", a4: "x" };
    const client = {
      restore: async (id: string) => {
        if (!(id in served)) throw new Error(`403 forbidden: artifact ${id}`);
        return new TextEncoder().encode(served[id]);
      },
    };
    const warnings: string[] = [];
    const restored = await restoreFiles(
      client,
      out,
      [
        { artifactId: "a1", name: "notes/draft.md", sha256: sha("# Draft\n"), size: 8 },
        { artifactId: "a2", name: "data.json", sha256: sha("original"), size: 8 },
        { artifactId: "a3", name: "gone.md", sha256: sha("x"), size: 1 },
        { artifactId: "a4", name: "../escape.md", sha256: sha("x"), size: 1 },
      ],
      { warn: (m) => warnings.push(m) },
    );
    expect(restored).toEqual(["notes/draft.md"]);
    expect(readFileSync(join(out, "notes/draft.md"), "utf8")).toBe("# Draft\n");
    expect(existsSync(join(out, "data.json"))).toBe(false);
    expect(existsSync(join(out, "..", "escape.md"))).toBe(false);
    expect(warnings).toEqual([
      expect.stringContaining(`not restoring "data.json": its bytes hash to ${sha("tampered")}`),
      expect.stringContaining('could not restore "gone.md": 403 forbidden'),
      expect.stringContaining('not restoring "../escape.md": the name leaves the output folder'),
    ]);
  });
});
