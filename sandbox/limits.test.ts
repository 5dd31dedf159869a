/**
 * The host survives misbehaving sandboxes: output floods (a client that does not read — backpressure
 * pauses the command —, a command nobody listens to) and fork bombs (capped, then killed for the
 * processes limit).
 */
import { CommandExitError, Sandbox } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { allGone, tempRoot, waitFor } from "./testing/helpers.js";

const MiB = 1 << 20;
let host: SandboxHost;
let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };

beforeAll(async () => {
  host = await startSandboxHost({ root: tempRoot("limits"), maxProcesses: 64, maxBufferedOutputBytes: 4 * MiB, warn: () => {} });
  opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
});
afterAll(async () => {
  await host?.close();
});

/** How long the control plane takes to answer getInfo. */
async function latencyMs(id: string): Promise<number> {
  const t = performance.now();
  await Sandbox.getInfo(id, opts);
  return performance.now() - t;
}

function envelope(message: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/** Decodes Connect envelopes from a byte stream, yielding each message's JSON. */
async function* messages(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ event?: { data?: { stdout?: string } } }> {
  let buf = Buffer.alloc(0);
  for await (const chunk of body) {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const len = buf.readUInt32BE(1);
      yield JSON.parse(buf.subarray(5, 5 + len).toString());
      buf = buf.subarray(5 + len);
    }
  }
}

describe("output floods", () => {
  it("pauses a command whose client does not read (backpressure) instead of buffering; memory stays bounded", async () => {
    const sbx = await Sandbox.create("lakitu", { ...opts, timeoutMs: 60_000 });
    const detail = (await (await fetch(`${host.url}/sandboxes/${sbx.sandboxId}`, { headers: { "x-api-key": host.apiKey } })).json()) as {
      envdAccessToken: string;
    };
    const before = process.memoryUsage().rss;
    const res = await fetch(`${host.url}/process.Process/Start`, {
      method: "POST",
      headers: { "content-type": "application/connect+json", "e2b-sandbox-id": sbx.sandboxId, "x-access-token": detail.envdAccessToken },
      body: new Uint8Array(envelope({ process: { cmd: "/bin/bash", args: ["-c", "yes"] } })),
    });
    expect(res.status).toBe(200);
    // Do not read for 2 s while `yes` writes as fast as it can.
    let peak = 0;
    let slowest = 0;
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      slowest = Math.max(slowest, await latencyMs(sbx.sandboxId));
      peak = Math.max(peak, process.memoryUsage().rss - before);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(slowest).toBeLessThan(1_000);
    expect(peak).toBeLessThan(120 * MiB);
    // Now read: nothing was dropped, the output is `y` lines without a gap or marker.
    let read = 0;
    let carry = "";
    for await (const m of messages(res.body as unknown as AsyncIterable<Uint8Array>)) {
      const out = m.event?.data?.stdout;
      if (!out) continue;
      const text = carry + Buffer.from(out, "base64").toString();
      const lines = text.split("\n");
      carry = lines.pop()!;
      expect(lines.every((l) => l === "y")).toBe(true);
      read += text.length - carry.length;
      if (read > 8 * MiB) break;
    }
    expect(read).toBeGreaterThan(8 * MiB);
    await sbx.kill();
  }, 30_000);

  it("reads and discards the output of a command nobody listens to", async () => {
    const sbx = await Sandbox.create("lakitu", { ...opts, timeoutMs: 60_000 });
    const before = process.memoryUsage().rss;
    const handle = await sbx.commands.run("yes", { background: true, timeoutMs: 0 });
    await handle.disconnect();
    let peak = 0;
    let slowest = 0;
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      slowest = Math.max(slowest, await latencyMs(sbx.sandboxId));
      peak = Math.max(peak, process.memoryUsage().rss - before);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(slowest).toBeLessThan(1_000);
    expect(peak).toBeLessThan(120 * MiB);
    expect((await sbx.commands.list()).map((p) => p.pid)).toContain(handle.pid); // still running, not blocked
    expect((await sbx.commands.run("echo still-answering")).stdout).toBe("still-answering\n");
    await sbx.kill();
  }, 30_000);
});

describe("fork bombs", () => {
  it("caps the processes of a fork bomb, then kills its sandbox for the processes limit", async (ctx) => {
    if (!/^\d+ per/.test(host.processLimit)) {
      ctx.skip(`no process limit available here: ${host.processLimit}`);
    }
    const sbx = await Sandbox.create("lakitu", { ...opts, timeoutMs: 60_000 });
    const id = sbx.sandboxId;
    const handle = await sbx.commands.run("bomb() { bomb | bomb & }; bomb; sleep 30", { background: true, timeoutMs: 0 });
    const seen = new Set<number>();
    let most = 0;
    const gone = await waitFor(
      "the fork bomb's sandbox to be killed",
      async () => {
        const pids = host.list().find((s) => s.sandboxId === id)?.pids ?? [];
        for (const pid of pids) seen.add(pid);
        most = Math.max(most, pids.length);
        const res = await fetch(`${host.url}/sandboxes/${id}`, { headers: { "x-api-key": host.apiKey } });
        return res.status === 404 ? ((await res.json()) as { message: string }) : undefined;
      },
      25_000,
    );
    expect(seen.size).toBeGreaterThan(10); // it did fork
    expect(most).toBeLessThanOrEqual(64 + 2); // RLIMIT_NPROC held (+ bwrap's outer process when counted per command)
    expect(gone.message).toMatch(new RegExp(`^sandbox ${id} was killed by the host: processes limit 64 reached \\(used \\d+ processes and threads\\)$`));
    const end = (await handle.wait().catch((e: unknown) => e)) as CommandExitError;
    expect(end).toBeInstanceOf(CommandExitError);
    expect(end.exitCode).toBe(137);
    expect(end.error).toMatch("killed by the host: processes limit 64 reached");
    await waitFor("bomb gone", () => allGone([...seen]), 10_000);
  }, 30_000);
});
