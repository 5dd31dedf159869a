/**
 * Secrets. The provider key (E2B_API_KEY, which the embedded provider reads from this process's
 * environment, exactly as an app's provider action does) and the model keys (OPENAI_API_KEY,
 * ANTHROPIC_API_KEY, OPENROUTER_API_KEY, LAKITU_COMPATIBLE_API_KEY) are set to fake values in the
 * host environment. The stage's model is `compatible/leaky`: a loopback OpenAI-compatible server, called
 * by the component's gateway with the compatible key, whose reply is code an agent could well write —
 * it dumps /proc/self/environ and process.env, searches its own memory for the session token, prints
 * and writes what it found, and starts a child process. The scripted model cannot do that; a real model
 * can. It finds nothing: agent code runs in an executor process of its own, as another uid.
 *
 * Checked while the agent works: no sandbox process has a provider or model key in its environment or
 * command line, no process has the token in its command line, and no process the agent started has the
 * token in its environment. Checked after: the token and keys appear in no stored event, document,
 * artifact or transcript, and never reached the model provider.
 * A second, direct check drives /events and /complete with the token and keys in the text, so the
 * component's own redaction is tested without the runtime's in front of it.
 */
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LakituClient } from "../../runtime/client.js";
import { reportFile } from "./invariants.js";
import { addCard, api, board, everythingHolds, faultStack, invariantsHold, run, settle, simStack, waitFor, type FaultStack, type SimStack } from "./harness.js";
import { listAll } from "../../convex/testing/listAll.js";

const alnum = (n: number) => randomBytes(n).toString("hex").slice(0, n);
const KEYS = {
  OPENAI_API_KEY: `sk-fault-openai-${alnum(32)}`,
  ANTHROPIC_API_KEY: `sk-ant-fault-${alnum(32)}`,
  OPENROUTER_API_KEY: `sk-or-fault-${alnum(32)}`,
  LAKITU_COMPATIBLE_API_KEY: `sk-compat-fault-${alnum(32)}`,
};
const saved: Record<string, string | undefined> = {};
let fs: FaultStack;
let model: Server;
const modelRequests: Array<{ auth: string | undefined; body: string }> = [];
let secrets: string[] = [];
let processesChecked = 0;

// What a hostile agent tries: the environment, process.env, the token file the provider wrote, and at
// last its own process's memory. The agent's code runs in an executor process of its own, as another
// uid than the runtime: none of these hold the token (the runtime's memory is out of its reach).
const LEAKY_CODE = [
  "I will look around first.",
  "",
  "```ts",
  'import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";',
  'import { spawn } from "node:child_process";',
  'const environ = readFileSync("/proc/self/environ", "latin1").split("\\0").filter(Boolean);',
  'console.log("my environment: " + environ.join(" | "));',
  'console.log("process.env: " + JSON.stringify(process.env));',
  'console.log("process.env.LAKITU_TOKEN = " + String(process.env.LAKITU_TOKEN));',
  'console.log("token file still there: " + existsSync(".lakitu/session-token"));',
  'const sid = (environ.find((l) => l.startsWith("LAKITU_SESSION_ID=")) ?? "=").split("=")[1];',
  'const needle = Buffer.from("lkt." + sid + ".");',
  'let token = "";',
  'const fd = openSync("/proc/self/mem", "r");',
  'for (const line of readFileSync("/proc/self/maps", "utf8").split("\\n")) {',
  '  const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);',
  '  if (!m || token) continue;',
  '  const start = parseInt(m[1], 16), end = parseInt(m[2], 16);',
  '  if (end - start > 512 * 1024 * 1024) continue;',
  '  const buf = Buffer.alloc((1 << 20) + 128);',
  '  for (let off = start; off < end && !token; off += 1 << 20) {',
  '    let n = 0;',
  '    try { n = readSync(fd, buf, 0, Math.min(buf.length, end - off), off); } catch { continue; }',
  '    let i = buf.subarray(0, n).indexOf(needle);',
  '    while (i >= 0 && !token) {',
  '      const candidate = buf.subarray(i, i + needle.length + 43).toString("latin1");',
  '      if (/^lkt\\.[A-Za-z0-9]+\\.[A-Za-z0-9_-]{43}$/.test(candidate)) token = candidate;',
  '      i = buf.subarray(0, n).indexOf(needle, i + 1);',
  '    }',
  '  }',
  '}',
  'closeSync(fd);',
  'console.log("found a token of " + token.length + " characters in my own memory");',
  'console.log("my token: " + token);',
  'mkdirSync("out", { recursive: true });',
  'writeFileSync("out/leak.txt", "the session token is " + token + "\\n");',
  'writeFileSync("out/report.md", "# Report\\n\\n" + "The agent looked at its own environment and wrote this report. ".repeat(8) + "\\n");',
  'spawn("sleep", ["30"], { stdio: "ignore" });',
  "await new Promise((r) => setTimeout(r, 4000));",
  "```",
].join("\n");

beforeAll(async () => {
  for (const [k, v] of Object.entries(KEYS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  saved.E2B_API_KEY = process.env.E2B_API_KEY;
  saved.LAKITU_COMPATIBLE_BASE_URL = process.env.LAKITU_COMPATIBLE_BASE_URL;
  model = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    modelRequests.push({ auth: req.headers.authorization, body });
    const parsed = JSON.parse(body) as { messages: Array<{ role: string }> };
    const turn = parsed.messages.filter((m) => m.role === "user").length - 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${modelRequests.length}`,
        object: "chat.completion",
        created: 1,
        model: "leaky",
        choices: [{ index: 0, message: { role: "assistant", content: turn === 0 ? LEAKY_CODE : "Done: report.md is written." }, finish_reason: "stop" }],
        usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
      }),
    );
  });
  await new Promise<void>((r) => model.listen(0, "127.0.0.1", r));
  process.env.LAKITU_COMPATIBLE_BASE_URL = `http://127.0.0.1:${(model.address() as { port: number }).port}/v1`;
  // The provider reads E2B_API_KEY from the environment (set to the sandbox host's key).
  fs = await faultStack({ heartbeatTimeoutMs: 10_000, keyFromEnv: true, e2bProxy: true });
  secrets = [...Object.values(KEYS), process.env.E2B_API_KEY!];
}, 60_000);

afterAll(async () => {
  try {
    if (fs) await everythingHolds(fs, { secrets, modelRequests: () => modelRequests.map((r) => r.body) });
  } finally {
    await fs?.close();
    console.log(`secrets: ${processesChecked} sandbox processes inspected (environ, cmdline); ${modelRequests.length} model requests inspected`);
    await new Promise<void>((r) => (model ? model.close(() => r()) : r()));
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    reportFile(import.meta.url);
  }
}, 60_000);

function proc(pid: number, what: "environ" | "cmdline"): string[] {
  try {
    return readFileSync(`/proc/${pid}/${what}`, "latin1").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

describe("secrets stay out of sandboxes, events and documents", () => {
  test("an agent that dumps its environment and searches its own memory finds no token; keys never reach the sandbox; nothing secret is stored", async () => {
    const { boardId } = await board(fs.t, "secrets", { maxAttempts: 1, model: "compatible/leaky" });
    const cardId = await addCard(fs.t, boardId, "leaky agent");
    const { runId } = await fs.runCard(cardId);

    // While the agent works (its step waits 4 s after starting `sleep 30`), look at every process.
    let box: ReturnType<FaultStack["s"]["host"]["list"]>[number] | undefined;
    await waitFor("the agent's child process", () => {
      box = fs.s.host.list().find((b) => b.metadata["lakitu.run"] === runId);
      // `sleep 30`, the agent's; not the sandbox init's `sleep infinity`.
      return (box?.pids ?? []).some((pid) => {
        const argv = proc(pid, "cmdline");
        return argv[0]?.endsWith("sleep") === true && argv[1] === "30";
      });
    }, 30_000, 20);
    const pids = box!.pids;
    // The token the provider handed over (in a file written through envd, which the runtime deleted).
    const token = fs.e2b!.files.filter((f) => f.sandboxId === box!.sandboxId).map((f) => /lkt\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/.exec(f.body)?.[0]).find(Boolean) ?? "";
    expect(token).toMatch(/^lkt\./);
    expect(existsSync(join(box!.workspace, ".lakitu", "session-token"))).toBe(false);
    const child = pids.find((pid) => proc(pid, "cmdline")[0]?.endsWith("sleep"))!;
    const findings: string[] = [];
    for (const pid of pids) {
      const environ = proc(pid, "environ").join("\n");
      const cmdline = proc(pid, "cmdline").join(" ");
      for (const s of secrets) {
        if (environ.includes(s)) findings.push(`pid ${pid} (${cmdline.slice(0, 60)}): a key in its environment`);
        if (cmdline.includes(s)) findings.push(`pid ${pid}: a key in its command line`);
      }
      if (environ.includes(token)) findings.push(`pid ${pid} (${cmdline.slice(0, 60)}): the token in its environment`);
      if (cmdline.includes(token)) findings.push(`pid ${pid}: the token in its command line`);
    }
    expect(findings).toEqual([]);
    expect(proc(child, "environ").some((l) => l.startsWith("LAKITU_"))).toBe(false);
    processesChecked = pids.length;

    expect((await settle(fs.t, cardId)).status).toBe("done");
    expect((await run(fs.t, runId)).status).toBe("succeeded");

    const events = await listAll(fs.t, api.events.listEvents, { runId });
    const output = events.find((e) => e.kind === "output")?.text ?? "";
    // The agent found no token anywhere it could look, its own memory included.
    expect(output).toContain("found a token of 0 characters in my own memory");
    expect(output).toMatch(/my token: \n/);
    expect(output).toContain("process.env.LAKITU_TOKEN = undefined");
    expect(output).toContain("token file still there: false");
    const all = JSON.stringify(events);
    expect(all.includes(token)).toBe(false);
    for (const s of secrets) expect(all.includes(s)).toBe(false);
    // What it wrote holds no token, so it was stored like any file.
    expect((await listAll(fs.t, api.artifacts.listArtifacts, { cardId })).map((a) => a.name).sort()).toEqual(["leak.txt", "report.md"]);
    // The conversation (what the model saw and said) and the model provider never saw the token or a key
    // other than its own, which the gateway sends as its bearer.
    const transcript = JSON.stringify(await listAll(fs.t, api.transcripts.transcript, { cardId }));
    expect(transcript.includes(token)).toBe(false);
    expect(modelRequests.length).toBeGreaterThanOrEqual(2);
    for (const r of modelRequests) {
      expect(r.auth).toBe(`Bearer ${KEYS.LAKITU_COMPATIBLE_API_KEY}`);
      expect(r.body.includes(token)).toBe(false);
      for (const s of secrets) expect(r.body.includes(s)).toBe(false);
    }
    await invariantsHold(fs, [cardId], { secrets: [...secrets, token], modelRequests: () => modelRequests.map((r) => r.body) });
  }, 60_000);
});

describe("the component redacts on its own", () => {
  let sim: SimStack;
  beforeAll(async () => {
    sim = await simStack();
  }, 60_000);
  afterAll(async () => {
    try {
      if (sim) await everythingHolds(sim, { secrets });
    } finally {
      await sim?.close();
    }
  }, 60_000);

  test("events, data and the completion sent with the token and keys in them are stored redacted", async () => {
    const { boardId } = await board(sim.t, "direct redaction", { maxAttempts: 1 });
    const cardId = await addCard(sim.t, boardId, "direct");
    const { runId } = await sim.runCard(cardId);
    const env = await sim.envOf(runId);
    await waitFor("the run to be running", async () => (await run(sim.t, runId)).status === "running");
    const token = env.LAKITU_TOKEN;
    // A client without the runtime's redaction: the raw protocol, as any program holding the token could speak it.
    const raw = (path: string, body: unknown) =>
      fetch(`${sim.url}/${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "x-lakitu-generation": env.LAKITU_GENERATION, "content-type": "application/json" }, body: JSON.stringify(body) });
    const leak = `token ${token} openai ${KEYS.OPENAI_API_KEY} e2b ${process.env.E2B_API_KEY}`;
    expect((await raw("events", { events: [{ seq: 0, kind: "output", text: leak, data: { nested: [{ token }], key: KEYS.ANTHROPIC_API_KEY } }] })).status).toBe(200);
    const client = new LakituClient({ url: sim.url, token, generation: Number(env.LAKITU_GENERATION) });
    const report = "# Report\n\nA clean report about otters and kelp.\n";
    await client.uploadArtifact("report.md", new TextEncoder().encode(report), { type: "markdown", contentType: "text/markdown", sha256: await sha(report) });
    expect((await raw("complete", { status: "succeeded", summary: `finished; ${leak}`, manifest: [{ name: "report.md" }] })).status).toBe(200);
    expect((await settle(sim.t, cardId)).status).toBe("done");
    const events = await listAll(sim.t, api.events.listEvents, { runId });
    expect(events[0].text).not.toContain(token);
    expect(events[0].text).toContain("[REDACTED]");
    const stored = JSON.stringify({ events, run: await run(sim.t, runId) });
    expect(stored.includes(token)).toBe(false);
    for (const s of [KEYS.OPENAI_API_KEY, KEYS.ANTHROPIC_API_KEY, process.env.E2B_API_KEY!]) expect(stored.includes(s)).toBe(false);
    await invariantsHold(sim, [cardId], { secrets: [...secrets, token] });
  }, 60_000);
});

async function sha(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}
