/**
 * `lakitu dev` as a command: its flags are checked like every command's, bad project files stop it
 * before anything starts, it prints its URL and runs until the signal, and closing leaves no sandbox.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { lakitu } from "../testing/run.js";
import { startDev } from "./start.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lakitu-dev-cmd-"));
  writeFileSync(join(dir, "package.json"), "{}");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("bad flags are usage errors (exit 2) naming the flag", async () => {
  const port = await lakitu(dir, ["dev", "--port", "http"]);
  expect(port.code).toBe(2);
  expect(port.stderr).toContain('lakitu dev: --port must be a whole number, got "http"');
  const high = await lakitu(dir, ["dev", "--port", "70000"]);
  expect(high.stderr).toContain("--port must be at most 65535");
  const iso = await lakitu(dir, ["dev", "--isolation", "docker"]);
  expect(iso.code).toBe(2);
  expect(iso.stderr).toContain('--isolation must be one of auto, bwrap, none, got "docker"');
  const help = await lakitu(dir, ["dev", "--help"]);
  expect(help.stdout).toContain("--boards <file>");
  const usage = await lakitu(dir, ["--help"]);
  expect(usage.stdout).toContain("  dev ");
});

test("a missing boards file or a model without its key stops it before anything starts (exit 1)", async () => {
  const boards = await lakitu(dir, ["dev", "--boards", "nope.json", "--json"]);
  expect(boards.code).toBe(1);
  expect(boards.json().error).toMatchObject({ code: "invalid_boards", message: "nope.json: no such file" });
  const model = await lakitu(dir, ["dev", "--model", "openai/gpt-5-mini"], { env: {} });
  expect(model.code).toBe(1);
  expect(model.stderr).toContain("OPENAI_API_KEY");
});

test("it prints the URL, serves until the signal, then stops (exit 0)", async () => {
  mkdirSync(join(dir, "lakitu"), { recursive: true });
  writeFileSync(join(dir, "lakitu", "boards.json"), JSON.stringify({ boards: [{ name: "Declared", stages: [{ name: "Done", kind: "done" }] }] }));
  const stop = new AbortController();
  let announce!: (url: string) => void;
  const seen = new Promise<string>((resolve) => (announce = resolve));
  const running = lakitu(dir, ["dev", "--port", "0"], {
    // A model key in the environment is offered, never used unasked (and never printed).
    env: { ...process.env, ANTHROPIC_API_KEY: "sk-ant-test-not-printed" },
    signal: stop.signal,
    onStdout: (t) => {
      const m = /Lakitu dev: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(t);
      if (m) announce(m[1]);
    },
  });
  const base = await seen;
  const info = (await (await fetch(`${base}api/info`)).json()) as { boards: string[]; persistence: { runHistoryKept: boolean } };
  expect(info.boards).toHaveLength(1);
  expect(info.persistence.runHistoryKept).toBe(false);
  stop.abort("SIGINT");
  const r = await running;
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("1 board from lakitu/boards.json");
  expect(r.stdout).toContain("run history is not kept");
  expect(r.stdout).toContain("model scripted");
  expect(r.stdout).toContain("ANTHROPIC_API_KEY set: --model anthropic/");
  expect(r.stdout + r.stderr).not.toContain("sk-ant-test-not-printed");
  await expect(fetch(`${base}api/info`)).rejects.toThrow();
}, 120_000);

test("closing while a card runs kills its sandbox and removes its files", async () => {
  const empty = mkdtempSync(join(tmpdir(), "lakitu-dev-close-"));
  const dev = await startDev({ cwd: empty, port: 0 });
  try {
    const call = async (kind: string, name: string, args: unknown) => ((await (await fetch(`${dev.url}api/${kind}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, args }) })).json()) as { value: any }).value;
    const { boardId } = await call("mutation", "createBoard", { name: "Slow", stages: [{ name: "Work", kind: "agent", deliverables: [{ name: "a.md", type: "markdown" }] }, { name: "Done", kind: "done" }] });
    // The scripted model's first turn waits this long before writing: the sandbox stays up meanwhile.
    const cardId = await call("mutation", "addCard", { boardId, title: "Slow card" });
    await call("mutation", "updateCard", { cardId, context: { scripted_delay_ms: "600000" } });
    await call("mutation", "runCard", { cardId });
    const end = Date.now() + 60_000;
    while (dev.stack.host.list().length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const [sandbox] = dev.stack.host.list();
    expect(sandbox).toBeDefined();
    expect(existsSync(sandbox.dir)).toBe(true);
    await dev.close();
    expect(dev.stack.host.list()).toEqual([]);
    expect(existsSync(sandbox.dir)).toBe(false);
  } finally {
    await dev.close().catch(() => {});
    rmSync(empty, { recursive: true, force: true });
  }
}, 120_000);

test("--model is checked against the environment and set on agent stages that name none", async () => {
  const project = mkdtempSync(join(tmpdir(), "lakitu-dev-model-"));
  mkdirSync(join(project, "lakitu"));
  const stages = [{ name: "Write", kind: "agent" }, { name: "Pinned", kind: "agent", model: "scripted" }, { name: "Done", kind: "done" }];
  writeFileSync(join(project, "lakitu", "boards.json"), JSON.stringify({ boards: [{ name: "Real", stages }] }));
  const dev = await startDev({ cwd: project, port: 0, model: "openai/gpt-5-mini", env: { OPENAI_API_KEY: "sk-test-not-used" } });
  try {
    expect(dev.info.model).toBe("openai/gpt-5-mini");
    const res = await fetch(`${dev.url}api/query`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "getBoard", args: { boardId: dev.info.boards[0] } }) });
    const { value } = (await res.json()) as { value: { stages: Array<{ name: string; model?: string }> } };
    expect(value.stages.map((s) => [s.name, s.model])).toEqual([
      ["Write", "openai/gpt-5-mini"],
      ["Pinned", "scripted"],
      ["Done", undefined],
    ]);
  } finally {
    await dev.close();
    rmSync(project, { recursive: true, force: true });
  }
}, 120_000);
