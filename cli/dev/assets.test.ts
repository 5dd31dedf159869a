/** The dashboard as the package ships it: scripts/build-dashboard.ts's output, served by loadDashboard. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { buildDashboard } from "../../scripts/build-dashboard.js";
import { loadDashboard } from "./assets.js";

test("the built dashboard (dist/dashboard in the package) is what lakitu dev serves without the sources", async () => {
  const out = mkdtempSync(join(tmpdir(), "lakitu-dashboard-"));
  try {
    const files = await buildDashboard(out);
    expect(files).toContain(join(out, "main.js"));
    const assets = await loadDashboard({ sourceEntry: join(out, "no-sources-here.tsx"), builtDir: out });
    expect(assets.html).toContain('<script type="module" src="/assets/main.js">');
    const js = assets.files.get("main.js")!;
    expect(js.contentType).toMatch(/^text\/javascript/);
    // The bundle carries the local client's protocol and the dashboard itself.
    const text = js.body.toString("utf8");
    expect(text).toContain("/api/updates");
    expect(text).toContain("lk-dashboard");
    await expect(loadDashboard({ sourceEntry: join(out, "none.tsx"), builtDir: join(out, "missing") })).rejects.toThrow(/dashboard bundle is missing/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
