/** The bundle the sandbox runs: build it with scripts/build-runtime.ts, then run a task with plain node. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildRuntime } from "../scripts/build-runtime.js";
import { harness, ts, type Harness } from "./testing/harness.js";

let h: Harness | undefined;
let dist: string | undefined;
afterEach(async () => {
  await h?.cleanup();
  if (dist) await rm(dist, { recursive: true, force: true });
  h = dist = undefined;
});

describe("runtime bundle", () => {
  it("builds main.js and worker.js that run a task with plain node and the built-in KSAs", async () => {
    dist = await mkdtemp(join(tmpdir(), "lakitu-dist-"));
    const files = await buildRuntime({ outdir: dist });
    // The entries, plus chunks loaded on first use (the pdf KSA's code among them).
    const names = files.map((f) => f.split("/").slice(-2).join("/"));
    expect(names.filter((f) => !f.startsWith("chunks/")).map((f) => f.split("/").pop()).sort()).toEqual(["main.js", "worker.js"]);
    expect(names.some((f) => /^chunks\/markdownPdf-/.test(f))).toBe(true);
    h = await harness({
      task: { stage: { deliverables: [{ name: "report.md", type: "markdown" }], allowedKsas: ["artifacts", "file"] } },
      replies: [
        ts('import { artifacts } from "lakitu/ksa";\nawait artifacts.save({ name: "report.md", content: "# From the bundle" });\nconsole.log("ok", process.pid);'),
        ts('import { file } from "lakitu/ksa";\nconsole.log("again", process.pid, (await file.read({ path: "out/report.md" })).length);'),
        "Done.",
      ],
    });
    const child = spawn(process.execPath, [join(dist, "main.js")], {
      cwd: h.workspace,
      env: {
        PATH: process.env.PATH,
        LAKITU_URL: h.env.url,
        LAKITU_TOKEN: h.token,
        LAKITU_GENERATION: "1",
        LAKITU_RUN_ID: "run_1",
        LAKITU_SESSION_ID: "sess1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code, out).toBe(0);
    expect(h.fake.llmCalls[1].observation).toContain("ok");
    // The second step ran in the first step's executor process: the built-in KSAs leave nothing running.
    const pid = /ok (\d+)/.exec(h.fake.llmCalls[1].observation)?.[1];
    expect(pid).toBeDefined();
    expect(h.fake.llmCalls[2].observation).toContain(`again ${pid} `);
    expect(h.fake.completions[0]).toMatchObject({
      status: "succeeded",
      manifest: [{ name: "report.md", type: "markdown", sha256: createHash("sha256").update("# From the bundle").digest("hex") }],
    });
    expect(existsSync(join(h.workspace, "out", "report.md"))).toBe(true);
    expect(out).not.toContain(h.token);
  }, 120_000);
});
