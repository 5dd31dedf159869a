/**
 * Conformance with E2B's documented behaviour, driven by the official `e2b` SDK: findings from running
 * the SDK's own test suite against the local host (gzip transfers, the default working directory, the
 * `user` option, signed file URLs, input validation, leftovers of a crashed host, large outputs).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { InvalidArgumentError, Sandbox } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "./host.js";
import { tempRoot } from "./testing/helpers.js";

let host: SandboxHost;
let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };
let sbx: Sandbox;

beforeAll(async () => {
  host = await startSandboxHost({ root: tempRoot("conformance"), warn: () => {} });
  opts = { apiKey: host.apiKey, apiUrl: host.url, sandboxUrl: host.url };
  sbx = await Sandbox.create("base", { ...opts, timeoutMs: 120_000 });
});
afterAll(async () => {
  await host?.close();
});

const summaryOf = (id: string) => host.list().find((s) => s.sandboxId === id)!;

describe("files: encodings", () => {
  it("stores a gzip upload decompressed (files.write { gzip: true })", async () => {
    const text = "compressed ".repeat(1000);
    await sbx.files.write("/home/user/gz.txt", text, { gzip: true });
    expect(readFileSync(path.join(summaryOf(sbx.sandboxId).dir, "home", "gz.txt"), "utf8")).toBe(text);
    expect(await sbx.files.read("/home/user/gz.txt")).toBe(text);
  });

  it("serves gzip when Accept-Encoding allows it (files.read { gzip: true }) and 406 when nothing acceptable", async () => {
    const text = "z".repeat(50_000);
    await sbx.files.write("/home/user/big.txt", text);
    expect(await sbx.files.read("/home/user/big.txt", { gzip: true })).toBe(text);
    const token = await accessToken(sbx.sandboxId);
    const raw = await fetch(`${host.url}/files?path=/home/user/big.txt`, {
      headers: { "e2b-sandbox-id": sbx.sandboxId, "x-access-token": token, "accept-encoding": "gzip" },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-encoding")).toBe("gzip");
    expect(await raw.text()).toBe(text); // fetch decompresses
    const none = await fetch(`${host.url}/files?path=/home/user/big.txt`, {
      headers: { "e2b-sandbox-id": sbx.sandboxId, "x-access-token": token, "accept-encoding": "br, identity;q=0" },
    });
    expect(none.status).toBe(406);
  });

  it("refuses an unknown Content-Encoding and a corrupt gzip body with 400", async () => {
    const token = await accessToken(sbx.sandboxId);
    const post = (encoding: string, body: Uint8Array<ArrayBuffer>) =>
      fetch(`${host.url}/files?path=/home/user/enc.txt`, {
        method: "POST",
        headers: {
          "e2b-sandbox-id": sbx.sandboxId,
          "x-access-token": token,
          "content-type": "application/octet-stream",
          "content-encoding": encoding,
        },
        body,
      });
    const br = await post("br", new Uint8Array([1, 2, 3]));
    expect(br.status).toBe(400);
    expect(((await br.json()) as { message: string }).message).toMatch(/unsupported Content-Encoding 'br'.*identity and gzip/);
    expect((await post("gzip", new Uint8Array([1, 2, 3]))).status).toBe(400);
    expect((await post("gzip", Uint8Array.from(gzipSync("ok")))).status).toBe(200);
    expect(await sbx.files.read("/home/user/enc.txt")).toBe("ok");
  });
});

describe("working directory", () => {
  it("runs commands in /home/user by default, where relative file paths resolve too", async () => {
    const home = host.isolation === "bwrap" ? "/home/user" : path.join(summaryOf(sbx.sandboxId).dir, "home");
    expect((await sbx.commands.run("pwd")).stdout).toBe(`${home}\n`);
    await sbx.commands.run("echo made-by-command > rel.txt");
    expect(await sbx.files.read("rel.txt")).toBe("made-by-command\n");
    await sbx.files.write("rel2.txt", "made-by-files");
    expect((await sbx.commands.run("cat rel2.txt")).stdout).toBe("made-by-files");
    // An explicit cwd (what Lakitu's runtime passes) still wins.
    expect((await sbx.commands.run("pwd", { cwd: "/home/user/workspace" })).stdout).toMatch(/workspace\n$/);
  });
});

describe("the user option", () => {
  it("honours 'user' and 'root' and refuses any other user with InvalidArgumentError, for commands and files", async () => {
    expect((await sbx.commands.run("id -un 2>/dev/null || echo user", { user: "user" })).exitCode).toBe(0);
    expect((await sbx.commands.run("id -u", { user: "root" })).stdout).toBe("0\n");
    const cmd = await sbx.commands.run("id", { user: "admin" }).catch((e: unknown) => e);
    expect(cmd).toBeInstanceOf(InvalidArgumentError);
    expect(String(cmd)).toMatch(/user 'admin' is not supported/);
    await expect(sbx.files.write("/home/user/u.txt", "x", { user: "admin" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sbx.files.read("/home/user/gz.txt", { user: "admin" })).rejects.toThrow(/user 'admin' is not supported/);
    await sbx.files.write("/home/user/u.txt", "x", { user: "user" });
    expect(await sbx.files.read("/home/user/u.txt", { user: "user" })).toBe("x");
    expect(await sbx.files.read("/home/user/u.txt", { user: "root" })).toBe("x");
  });
});

describe("signed URLs", () => {
  it("accepts uploadUrl()/downloadUrl() signed with the sandbox's access token; refuses bad and expired ones", async () => {
    const up = await sbx.uploadUrl("/home/user/signed.txt");
    const form = new FormData();
    form.append("file", new Blob(["via-signed-url"]), "signed.txt");
    const posted = await fetch(up, { method: "POST", body: form });
    expect(posted.status).toBe(200);
    const down = await sbx.downloadUrl("/home/user/signed.txt", { useSignatureExpiration: 60 });
    expect(new URL(down).searchParams.get("signature_expiration")).toMatch(/^\d+$/);
    const got = await fetch(down);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("via-signed-url");

    // A read signature does not allow a write; a tampered one matches nothing.
    expect((await fetch(down, { method: "POST", body: form })).status).toBe(401);
    const tampered = new URL(down);
    tampered.searchParams.set("path", "/home/user/gz.txt");
    expect((await fetch(tampered)).status).toBe(401);
    // Expired: the SDK signs with a past expiration when given a negative one.
    const expired = await sbx.downloadUrl("/home/user/signed.txt", { useSignatureExpiration: -10 });
    const refused = await fetch(expired);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/expired/);
  });
});

describe("input validation", () => {
  it("refuses timeouts over 24 h with a 400 naming the maximum, and negative timeouts and bad metadata", async () => {
    await expect(Sandbox.create("base", { ...opts, timeoutMs: 25 * 3600_000 })).rejects.toThrow(/exceeds the maximum of 86400 s \(24 h\)/);
    await expect(sbx.setTimeout(25 * 3600_000)).rejects.toThrow(/exceeds the maximum of 86400 s/);
    await expect(Sandbox.create("base", { ...opts, timeoutMs: -5_000 })).rejects.toThrow(/non-negative integer/);
    await expect(
      Sandbox.create("base", { ...opts, metadata: { n: 1 } as unknown as Record<string, string> }),
    ).rejects.toThrow(/metadata\.n must be a string/);
    const res = await fetch(`${host.url}/sandboxes/${sbx.sandboxId}/refreshes`, {
      method: "POST",
      headers: { "x-api-key": host.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ duration: 1e9 }),
    });
    expect(res.status).toBe(400);
    await sbx.setTimeout(120_000); // still accepted
  });
});

describe("features the host refuses", () => {
  it("refuses pause, snapshots, fork, metrics, network rules and PTY clearly", async () => {
    await expect(sbx.pause()).rejects.toThrow(/pause is not supported/);
    await expect(sbx.createSnapshot()).rejects.toThrow(/snapshots are not supported/);
    await expect(sbx.fork()).rejects.toThrow(/fork is not supported/);
    await expect(sbx.getMetrics()).rejects.toThrow(/metrics are not collected/);
    await expect(sbx.updateNetwork({ denyOut: ["0.0.0.0/0"] })).rejects.toThrow(/network rules are not supported/);
    await expect(Sandbox.create("base", { ...opts, network: { denyOut: ["10.0.0.0/8"] } })).rejects.toThrow(/unless they deny all traffic/);
    await expect(sbx.pty.create({ cols: 80, rows: 24, onData: () => {} })).rejects.toThrow(/PTY is not supported/);
  });
});

describe("large outputs", () => {
  it("delivers a 16 MiB stdout in full (backpressure, nothing dropped)", async () => {
    const size = 16 << 20;
    const r = await sbx.commands.run(`yes abcdefghijklmno | head -c ${size}`, { timeoutMs: 60_000 });
    expect(r.stdout.length).toBe(size);
    expect(r.stdout).not.toContain("lakitu sandbox host");
    expect(r.stdout.slice(-16)).toBe("abcdefghijklmno\n");
  }, 60_000);

  it("pauses the command while a client does not read, then delivers everything (16 MiB)", async () => {
    const size = 16 << 20;
    const res = await fetch(`${host.url}/process.Process/Start`, {
      method: "POST",
      headers: {
        "content-type": "application/connect+json",
        "e2b-sandbox-id": sbx.sandboxId,
        "x-access-token": await accessToken(sbx.sandboxId),
      },
      body: new Uint8Array(envelope({ process: { cmd: "/bin/sh", args: ["-c", `yes abcdefghijklmno | head -c ${size}`] } })),
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000)); // not reading: the host must hold the command, not drop
    let read = 0;
    let tail = "";
    let ended: unknown;
    for await (const m of messages(res.body as unknown as AsyncIterable<Uint8Array>)) {
      const out = m.event?.data?.stdout;
      if (out) {
        const text = Buffer.from(out, "base64").toString();
        expect(text).not.toContain("lakitu sandbox host");
        read += text.length;
        tail = (tail + text).slice(-16);
      }
      if (m.event?.end) ended = m.event.end;
    }
    expect(read).toBe(size);
    expect(tail).toBe("abcdefghijklmno\n");
    expect(ended).toMatchObject({ exitCode: 0 });
  }, 60_000);
});

describe("leftovers of a crashed host", () => {
  it("removes, on start, sandbox directories no running host owns, and logs each", async () => {
    const root = tempRoot("reconcile");
    const dead = "deaddeaddeaddeaddead"; // a 20-char id whose owner is gone
    const noOwner = "a1b2c3d4e5f6g7h8i9j0";
    const alive = "aliveowner0123456789";
    for (const id of [dead, noOwner, alive]) mkdirSync(path.join(root, id, "home"), { recursive: true });
    writeFileSync(path.join(root, dead, "host.pid"), "2147483646\n");
    writeFileSync(path.join(root, alive, "host.pid"), `${process.pid}\n`);
    mkdirSync(path.join(root, "not-a-sandbox"));
    const logs: string[] = [];
    const second = await startSandboxHost({ root, warn: (m) => logs.push(m) });
    try {
      expect(existsSync(path.join(root, dead))).toBe(false);
      expect(existsSync(path.join(root, noOwner))).toBe(false);
      expect(existsSync(path.join(root, alive))).toBe(true); // its host (this process) still runs
      expect(existsSync(path.join(root, "not-a-sandbox"))).toBe(true);
      expect(logs.filter((m) => /removed the directory of sandbox/.test(m))).toHaveLength(2);
    } finally {
      await second.close();
    }
  });
});

function envelope(message: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

type StreamMessage = { event?: { data?: { stdout?: string }; end?: unknown } };

/** Decodes Connect envelopes from a byte stream, yielding each message's JSON. */
async function* messages(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamMessage> {
  let buf = Buffer.alloc(0);
  for await (const chunk of body) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : Buffer.from(chunk);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const len = buf.readUInt32BE(1);
      if ((buf[0]! & 0x02) === 0) yield JSON.parse(buf.subarray(5, 5 + len).toString()) as StreamMessage;
      buf = buf.subarray(5 + len);
    }
  }
}

async function accessToken(id: string): Promise<string> {
  const res = await fetch(`${host.url}/sandboxes/${id}`, { headers: { "x-api-key": host.apiKey } });
  return ((await res.json()) as { envdAccessToken: string }).envdAccessToken;
}
