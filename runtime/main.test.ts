/** The real entry point, spawned with tsx against the fake component. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { harness, ts, waitFor, type Harness } from "./testing/harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

function spawnMain(h: Harness, extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", "runtime/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LAKITU_URL: h.env.url,
      LAKITU_TOKEN: h.token,
      LAKITU_GENERATION: "1",
      LAKITU_RUN_ID: "run_1",
      LAKITU_SESSION_ID: "sess1",
      LAKITU_WORKSPACE: h.workspace,
      LAKITU_HEARTBEAT_MS: "500",
      LAKITU_STEP_TIMEOUT_MS: "30000",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal, at: Date.now() })),
  );
  return { child, exited, output: () => output };
}

describe("runtime/main.ts", () => {
  it("SIGTERM during a step: events flushed, files uploaded, complete canceled, exit 0", async () => {
    h = await harness({
      replies: [
        ts(
          [
            'import { mkdirSync, writeFileSync } from "node:fs";',
            'mkdirSync("out", { recursive: true });',
            'writeFileSync("out/partial.md", "# Partial\\n");',
            'console.log("working");',
            "await new Promise((r) => setTimeout(r, 60_000));",
          ].join("\n"),
        ),
      ],
    });
    const main = spawnMain(h);
    await waitFor(() => existsSync(join(h!.workspace, "out", "partial.md")), 30_000);
    await new Promise((r) => setTimeout(r, 100));
    const sentAt = Date.now();
    main.child.kill("SIGTERM");
    const { code, at } = await main.exited;
    expect(code, main.output()).toBe(0);
    console.log(`SIGTERM to exit: ${at - sentAt} ms`);
    expect(at - sentAt).toBeLessThan(3_000);

    const { fake } = h;
    expect(fake.completions).toHaveLength(1);
    expect(fake.completions[0]).toMatchObject({ status: "canceled", error: expect.stringContaining("SIGTERM") });
    expect(fake.completions[0].manifest).toEqual([{ name: "partial.md", type: "markdown", sha256: fake.artifacts.get("partial.md")?.sha256 }]);
    expect(fake.artifacts.get("partial.md")?.bytes.toString()).toBe("# Partial\n");
    const seqs = [...fake.events.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const events = seqs.map((s) => fake.events.get(s)!);
    expect(events.find((e) => e.kind === "output")).toMatchObject({ text: "working\n" });
    expect(events.at(-1)).toMatchObject({ kind: "status", text: expect.stringMatching(/^finished: canceled/) });
    // Everything was sent before the completion.
    const completeAt = fake.requests.findIndex((r) => r.path === "complete");
    expect(fake.requests.slice(completeAt + 1).filter((r) => r.path === "events")).toHaveLength(0);
  }, 60_000);

  it("the token never leaves except in the Authorization header, even when agent code digs for it", async () => {
    h = await harness({
      replies: [
        ts(
          [
            'import { mkdirSync, readFileSync, writeFileSync } from "node:fs";',
            'import { artifacts } from "lakitu/ksa";',
            // Agent code runs in its own process: its own environment never had the token. Without an
            // agent user it shares the runtime's uid and can read the runtime's start-up environment.
            'const own = readFileSync("/proc/self/environ", "utf8").split("\\0").filter((l) => l.startsWith("LAKITU_"));',
            'const found = readFileSync(`/proc/${process.ppid}/environ`, "utf8").split("\\0").filter((l) => l.startsWith("LAKITU_TOKEN="));',
            'console.log("env:", JSON.stringify(process.env.LAKITU_TOKEN), "own:", own.length, "environ:", found.join(","));',
            'mkdirSync("out", { recursive: true });',
            'writeFileSync("out/leak.txt", "x " + found.join("\\n"));',
            'await artifacts.save({ name: "ok.md", content: "fine" });',
            'throw new Error("leaking " + found.join(""));',
          ].join("\n"),
        ),
        ts('import { remote } from "lakitu/ksa";\nconsole.log(1);'),
        "Done.",
      ],
    });
    const main = spawnMain(h);
    const { code } = await main.exited;
    expect(code, main.output()).toBe(0);
    const { fake, token } = h;
    expect(fake.completions[0]).toMatchObject({ status: "succeeded" });
    expect(fake.requests.length).toBeGreaterThan(10);
    for (const r of fake.requests) {
      expect(r.body.includes(token), `${r.path} body`).toBe(false);
      expect(r.query.includes(token) || r.path.includes(token), `${r.path} url`).toBe(false);
      for (const [name, value] of Object.entries(r.headers)) {
        if (name !== "authorization") expect(String(value).includes(token), `${r.path} header ${name}`).toBe(false);
      }
      expect(r.headers.authorization).toBe(`Bearer ${token}`);
    }
    expect(main.output()).not.toContain(token);
    // The executor's environment is scrubbed; the runtime's start-up environment, readable here because
    // no agent user separates the uids, held the token, and redaction is what kept it from leaving.
    const obs = fake.llmCalls[1].observation;
    expect(obs).toContain("env: undefined own: 0 environ: LAKITU_TOKEN=[redacted]");
    expect(fake.artifacts.has("ok.md")).toBe(true);
    expect(fake.artifacts.has("leak.txt")).toBe(false);
    expect([...fake.events.values()].some((e) => e.text === "leak.txt contains the session token; it was not uploaded")).toBe(true);
  }, 60_000);
});
