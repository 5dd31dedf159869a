import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor, scrubEnv, transpile, type Gateway } from "./executor.js";
import { FAKE_KSA } from "./testing/harness.js";

let ws: string;
let ex: Executor;
const gatewayCalls: Array<[string, string, unknown]> = [];
const gateway: Gateway = async (ksa, fn, args) => {
  gatewayCalls.push([ksa, fn, args]);
  if (fn === "fail") throw new Error("403 forbidden: no");
  return { got: args };
};

beforeAll(async () => {
  ws = await mkdtemp(join(tmpdir(), "lakitu-exec-"));
  process.env.LAKITU_TOKEN_TEST_ONLY = "should-not-leak";
  process.env.SOME_API_KEY = "should-not-leak";
  process.env.PLAIN_SETTING = "visible";
  ex = new Executor({
    workspace: ws,
    outputDir: join(ws, "out"),
    allowedKsas: ["file", "artifacts", "remote"],
    stageName: "test",
    stepTimeoutMs: 1_500,
    maxOutputBytes: 256,
    gateway,
    ksaModule: FAKE_KSA,
    secrets: ["secret-value-123"],
  });
});
afterAll(async () => {
  await ex.close();
  await rm(ws, { recursive: true, force: true });
  delete process.env.LAKITU_TOKEN_TEST_ONLY;
  delete process.env.SOME_API_KEY;
  delete process.env.PLAIN_SETTING;
});

/** Whether `pid` is gone within a few seconds. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe("transpile", () => {
  it("turns TypeScript imports into require and keeps line numbers", () => {
    const t = transpile('import { file } from "lakitu/ksa";\nconst n: number = 1;\nawait file.read({ path: "x" });', "s.ts");
    expect(t.ok).toBe(true);
    const js = t.ok ? t.js : "";
    expect(js).toContain("require('lakitu/ksa')");
    expect(js.split("\n")).toHaveLength(3);
  });

  it("reports invalid TypeScript with a code frame", () => {
    expect(transpile("let a = 1;\nlet b: = 2;", "s.ts")).toEqual({ ok: false, message: expect.stringMatching(/^SyntaxError: .*\(2:\d+\)\n2 \| let b: = 2;\n {2}\| +\^$/) });
  });
});

describe("scrubEnv", () => {
  it("drops LAKITU_* and anything that looks like a secret, by name or by value", () => {
    expect(
      scrubEnv({ PATH: "/bin", LAKITU_URL: "u", GITHUB_TOKEN: "t", aws_secret: "s", OPENAI_API_KEY: "k", DB_PASSWORD: "p", OTHER: "has secret-value-123 in it" }, ["secret-value-123"]),
    ).toEqual({ PATH: "/bin" });
  });
});

describe("Executor", () => {
  it("runs TypeScript with top-level await, KSAs and built-ins, capturing console output", async () => {
    const r = await ex.run(
      [
        'import { artifacts, file } from "lakitu/ksa";',
        'import { readFileSync } from "node:fs";',
        "import path from 'path';",
        "const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));",
        "await wait(5);",
        'await artifacts.save({ name: "a.txt", content: "A" });',
        'console.log("read:", await file.read({ path: "out/a.txt" }), readFileSync(path.join(__dirname, "out", "a.txt"), "utf8"));',
        'console.error("to stderr");',
        'process.stdout.write("raw\\n");',
      ].join("\n"),
      { step: 1 },
    );
    expect(r).toMatchObject({ ok: true, output: "read: A A\nto stderr\nraw\n", truncatedBytes: 0 });
    expect(await readFile(join(ws, "out", "a.txt"), "utf8")).toBe("A");
  });

  it("gives the step a scrubbed environment", async () => {
    const r = await ex.run("console.log(JSON.stringify(Object.keys(process.env).filter((k) => /LAKITU|KEY|PLAIN/.test(k))))", { step: 2 });
    expect(r.output).toBe('["PLAIN_SETTING"]\n');
  });

  it("admits only lakitu/ksa and Node built-ins", async () => {
    const r = await ex.run('import _ from "lodash";\nconsole.log(_.VERSION);', { step: 3 });
    expect(r.error).toMatchObject({ kind: "runtime", message: expect.stringContaining('Cannot import "lodash"') });
  });

  it("forwards gateway KSA calls to the parent and returns results and errors", async () => {
    const r = await ex.run('import { remote } from "lakitu/ksa";\nconsole.log(JSON.stringify(await remote.echo({ value: "hi" })));', { step: 4 });
    expect(r.output).toBe('{"got":{"value":"hi"}}\n');
    expect(gatewayCalls).toContainEqual(["remote", "echo", { value: "hi" }]);
  });

  it("caps output with a visible marker", async () => {
    const r = await ex.run('for (let i = 0; i < 100; i++) console.log("line " + i + " ééé");', { step: 5 });
    expect(Buffer.byteLength(r.output.split("…[truncated")[0])).toBeLessThanOrEqual(256);
    expect(r.output).toMatch(/…\[truncated \d+ bytes\]$/);
    expect(r.truncatedBytes).toBe(r.outputBytes - Buffer.byteLength(r.output.split("…[truncated")[0]));
    expect(r.output).not.toContain("\uFFFD");
  });

  it("reports a thrown error with its message and stack lines in the step's code", async () => {
    const r = await ex.run("function inner() {\n  throw new TypeError('bad thing');\n}\ninner();", { step: 6 });
    expect(r.ok).toBe(false);
    expect(r.error?.message).toBe("TypeError: bad thing");
    expect(r.error?.stack?.split("\n")).toEqual(["TypeError: bad thing", expect.stringMatching(/at inner \(step-6\.ts:2:9\)/), expect.stringMatching(/step-6\.ts:4:1/)]);
  });

  it("reports rejected promises nobody awaited and errors thrown in callbacks", async () => {
    const a = await ex.run('Promise.reject(new Error("forgotten"));\nawait new Promise((r) => setTimeout(r, 50));', { step: 7 });
    expect(a.error).toMatchObject({ kind: "runtime", message: "Error: forgotten" });
    const b = await ex.run('setTimeout(() => { throw new RangeError("in a timer"); }, 1);\nawait new Promise(() => {});', { step: 8 });
    expect(b.error).toMatchObject({ kind: "runtime", message: "RangeError: in a timer" });
  });

  it("terminates an infinite loop at the timeout and keeps the output before it", async () => {
    const t = Date.now();
    const r = await ex.run('console.log("before");\nwhile (true) {}', { step: 9 });
    expect(r.error).toEqual({ kind: "timeout", message: "timed out after 1500 ms; the step was stopped" });
    expect(r.output).toBe("before\n");
    expect(Date.now() - t).toBeLessThan(5_000);
    // The next step gets a fresh worker and works.
    expect((await ex.run("console.log(2)", { step: 10 })).output).toBe("2\n");
  });

  it("a shorter per-step timeout (the deadline) wins", async () => {
    const r = await ex.run("await new Promise(() => {});", { step: 11, timeoutMs: 100 });
    expect(r.error?.message).toBe("timed out after 100 ms; the step was stopped");
  });

  it("reports process.exit and syntax errors V8 finds after sucrase", async () => {
    expect((await ex.run("process.exit(3)", { step: 12 })).error).toMatchObject({ kind: "runtime", message: "the step called process.exit(3)" });
    const r = await ex.run("const a = 1;\nconst a = 2;", { step: 13 });
    expect(r.error?.kind).toBe("syntax");
    expect(r.error?.stack ?? r.error?.message).toMatch(/SyntaxError: Identifier 'a' has already been declared/);
  });

  it("nothing a step leaves behind reaches the next one", async () => {
    await ex.run('(globalThis as any).leftover = 1;\nsetInterval(() => console.log("ghost"), 1);', { step: 14 });
    const r = await ex.run('await new Promise((r) => setTimeout(r, 30));\nconsole.log(typeof (globalThis as any).leftover);', { step: 15 });
    expect(r.output).toBe("undefined\n");
  });

  it("runs the next step in the same process when a step left nothing running", async () => {
    const pid = async (step: number) => Number((await ex.run("console.log(process.pid)", { step })).output);
    const before = ex.stats.reusedSteps;
    const first = await pid(20);
    expect(await pid(21)).toBe(first);
    expect(ex.stats.reusedSteps).toBeGreaterThanOrEqual(before + 1);
    // A step that threw does not spoil the process.
    expect((await ex.run("throw new Error('x')", { step: 22 })).error?.message).toBe("Error: x");
    expect(await pid(23)).toBe(first);
  });

  it("carries globals over between clean steps, but not the cwd, the environment or the output", async () => {
    const a = await ex.run('(globalThis as any).kept = 41;\nprocess.chdir("/");\nprocess.env.ADDED = "1";\nconsole.log("first");', { step: 24 });
    expect(a.output).toBe("first\n");
    const b = await ex.run('console.log((globalThis as any).kept + 1, process.cwd() === __dirname, process.env.ADDED);', { step: 25 });
    expect(b.output).toBe("42 true undefined\n");
  });

  it("replaces the process after a step that left a timer, a pending KSA call or a timeout", async () => {
    const pid = async (step: number) => Number((await ex.run("console.log(process.pid)", { step })).output);
    let last = await pid(26);
    for (const [i, code] of [
      "setInterval(() => {}, 1000).unref();",
      "setTimeout(() => {}, 60_000);",
      'import { remote } from "lakitu/ksa";\nvoid remote.echo({ value: "never awaited" });',
      "require('node:net').createServer().listen(0);",
    ].entries()) {
      const r = await ex.run(code, { step: 27 + i });
      expect(r.ok, code).toBe(true);
      expect(ex.stats.lastReplaced, code).toMatch(/timer|KSA call|still open/);
      const next = await pid(40 + i);
      expect(next, code).not.toBe(last);
      last = next;
    }
    await ex.run("while (true) {}", { step: 50, timeoutMs: 300 });
    expect(await pid(51)).not.toBe(last);
  });

  it("kills a child process a step left behind, and keeps the executor", async () => {
    const r = await ex.run(
      "const { spawn } = require('node:child_process');\nconst d = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });\nd.unref();\nconsole.log(d.pid, process.pid);",
      { step: 52 },
    );
    const [child, executorPid] = r.output.trim().split(" ").map(Number);
    expect(child).toBeGreaterThan(0);
    expect(await gone(child!)).toBe(true);
    expect(Number((await ex.run("console.log(process.pid)", { step: 53 })).output)).toBe(executorPid);
  });

  it("stopCurrent cancels a running step", async () => {
    await ex.warm();
    const running = ex.run('console.log("started");\nawait new Promise(() => {});', { step: 16 });
    await new Promise((r) => setTimeout(r, 200));
    ex.stopCurrent();
    const r = await running;
    expect(r.error?.kind).toBe("canceled");
    expect(r.output).toBe("started\n");
  });
});
