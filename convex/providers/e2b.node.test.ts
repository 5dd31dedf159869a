/**
 * The E2B provider (the official SDK) end to end against the local sandbox host over loopback HTTP:
 * the same code path that drives E2B in production.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandboxHost, type SandboxHost } from "../../sandbox/host.js";
import { tempRoot, waitFor } from "../../sandbox/testing/helpers.js";
import type { ProviderRequest, ProviderResult } from "../shared/validators.js";
import { e2bProvider, networkOptions, type E2bProviderOptions } from "./e2b.js";

let host: SandboxHost;
const deployment = `dep-${Date.now()}`;

beforeAll(async () => {
  host = await startSandboxHost({ root: tempRoot("provider"), templates: ["lakitu"], warn: () => {} });
});
afterAll(async () => {
  await host?.close();
});

function provider(options: Partial<E2bProviderOptions> = {}) {
  // Stands in for the runtime (started as root): reads the token file, deletes it, keeps running.
  const command = "sh -c 'cat $HOME/$LAKITU_TOKEN_FILE > t; rm $HOME/$LAKITU_TOKEN_FILE; sleep 30'";
  const handler = e2bProvider({ apiKey: host.apiKey, command, connection: { apiUrl: host.url, sandboxUrl: host.url }, ...options });
  return (request: ProviderRequest): Promise<ProviderResult> => handler(undefined, { request });
}

const createRequest = (sessionId: string, token: string, dep = deployment): ProviderRequest => ({
  op: "create",
  sessionId,
  template: "lakitu",
  metadata: { "lakitu.session": sessionId, "lakitu.deployment": dep },
  envs: { LAKITU_TOKEN: token, LAKITU_SESSION: sessionId },
  timeoutMs: 120_000,
});

function ok<T extends ProviderResult>(r: ProviderResult): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`provider failed: ${JSON.stringify(r.error)}`);
  return r as Extract<T, { ok: true }>;
}

/** Every process on the host whose command line contains `needle`. */
function cmdlinesContaining(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`).includes(needle)) found.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

describe("networkOptions: the egress rules the provider creates sandboxes with", () => {
  it("allows only the component's host by default, nothing without a URL, and E2B's default when open", () => {
    expect(networkOptions("component", "https://happy-otter-123.convex.site/lakitu")).toEqual({
      network: { allowOut: ["happy-otter-123.convex.site"], denyOut: ["0.0.0.0/0"] },
    });
    expect(networkOptions("component", undefined)).toEqual({ allowInternetAccess: false });
    expect(networkOptions("component", "not a url")).toEqual({ allowInternetAccess: false });
    expect(networkOptions("open", "https://happy-otter-123.convex.site/lakitu")).toEqual({});
    // The deployment's storage (where upload URLs point) is allowed too, so big files skip the route.
    expect(networkOptions("component", "https://happy-otter-123.convex.site/lakitu", "https://happy-otter-123.convex.cloud")).toEqual({
      network: { allowOut: ["happy-otter-123.convex.site", "happy-otter-123.convex.cloud"], denyOut: ["0.0.0.0/0"] },
    });
  });

  it("the local host accepts the component-only rules (it gives sandboxes no network but its bridge)", async () => {
    const call = provider();
    const request = createRequest("s-net", "tok-net-0123456789");
    if (request.op !== "create") throw new Error("a create request");
    const created = ok(await call({ ...request, envs: { ...request.envs, LAKITU_URL: "http://127.0.0.1:9/lakitu" } }));
    const sandboxId = (created as { sandboxId: string }).sandboxId;
    expect(host.list().some((s) => s.sandboxId === sandboxId)).toBe(true);
    expect(await call({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: true });
  });
});

describe("e2bProvider against the local sandbox host", () => {
  it("creates a sandbox whose runtime gets the token in a file it deletes: never in an environment or a command line", async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    const call = provider();
    const created = ok(await call(createRequest("s-create", token)));
    expect(created.op).toBe("create");
    const sandboxId = (created as { sandboxId: string }).sandboxId;
    const s = host.list().find((x) => x.sandboxId === sandboxId)!;
    expect(s.metadata).toEqual({ "lakitu.session": "s-create", "lakitu.deployment": deployment });
    expect(await waitFor("token file", () => readFileSync(path.join(s.workspace, "t"), "utf8").trim() || undefined)).toBe(token);

    const pids = host.list().find((x) => x.sandboxId === sandboxId)!.pids;
    expect(pids.length).toBeGreaterThan(0);
    // A short-lived process of the list (the command's `cat`) may be gone by the time /proc is read.
    const proc = (pid: number, file: string): string => {
      try {
        return readFileSync(`/proc/${pid}/${file}`, "latin1");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH") return "";
        throw e;
      }
    };
    for (const pid of pids) expect(proc(pid, "cmdline").includes(token), `cmdline of ${pid}`).toBe(false);
    expect(cmdlinesContaining(token)).toEqual([]); // nowhere on the host
    // Handed over in a file, not the environment: no process of the sandbox has it in /proc/<pid>/environ.
    expect(pids.filter((pid) => proc(pid, "environ").includes(token))).toEqual([]);
    expect(pids.some((pid) => proc(pid, "environ").includes("LAKITU_TOKEN_FILE=.lakitu/session-token"))).toBe(true);
    // The command deletes the file right after reading it (as the runtime does).
    await waitFor("the token file to be deleted", () => (existsSync(path.join(s.dir, "root", ".lakitu", "session-token")) ? undefined : true));

    // The runtime is started without a command deadline (E2B kills a command when its deadline passes;
    // the SDK's default is 60 s even for background commands).
    const runtime = host.list().find((x) => x.sandboxId === sandboxId)!.commands;
    expect(runtime).toHaveLength(1);
    expect(runtime[0]!.deadlineAt).toBeUndefined();

    expect(await call({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "running" });
    const before = host
      .list()
      .find((x) => x.sandboxId === sandboxId)!
      .endAt.getTime();
    expect(await call({ op: "extend", sandboxId, timeoutMs: 600_000 })).toEqual({ ok: true, op: "extend" });
    expect(
      host
        .list()
        .find((x) => x.sandboxId === sandboxId)!
        .endAt.getTime(),
    ).toBeGreaterThan(before + 400_000);

    expect(await call({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: true });
    expect(await call({ op: "status", sandboxId })).toEqual({ ok: true, op: "status", state: "gone" });
    expect(await call({ op: "kill", sandboxId })).toEqual({ ok: true, op: "kill", killed: false });
    expect(await call({ op: "kill", sandboxId: "nosuchsandbox0000000" })).toEqual({ ok: true, op: "kill", killed: false });
    expect(await call({ op: "status", sandboxId: "nosuchsandbox0000000" })).toEqual({ ok: true, op: "status", state: "gone" });
  }, 30_000);

  it("reports a running sandbox whose runtime process died as gone", async () => {
    const call = provider();
    const created = ok(await call(createRequest("s-crash", "tok-crash"))) as { sandboxId: string };
    await waitFor("the runtime process", () => (host.list().find((x) => x.sandboxId === created.sandboxId)?.pids.length ? true : undefined));
    expect(await call({ op: "status", sandboxId: created.sandboxId })).toEqual({ ok: true, op: "status", state: "running" });
    for (const pid of host.list().find((x) => x.sandboxId === created.sandboxId)!.pids) {
      // A process of the list may exit on its own before it is killed (ESRCH): that is fine.
      try {
        process.kill(pid, "SIGKILL");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
      }
    }
    await waitFor("the processes to exit", () => (host.list().find((x) => x.sandboxId === created.sandboxId)?.pids.length === 0 ? true : undefined));
    expect(await call({ op: "status", sandboxId: created.sandboxId })).toEqual({ ok: true, op: "status", state: "gone" });
    expect(host.list().some((x) => x.sandboxId === created.sandboxId)).toBe(true); // the sandbox itself still exists
    await call({ op: "kill", sandboxId: created.sandboxId });
  }, 30_000);

  it("lists exactly the sandboxes with the given metadata", async () => {
    const call = provider();
    const dep = `${deployment}-list`;
    const a = ok(await call(createRequest("s-list-a", "t1", dep))) as { sandboxId: string };
    const b = ok(await call(createRequest("s-list-b", "t2", dep))) as { sandboxId: string };
    const other = ok(await call(createRequest("s-list-c", "t3", `${dep}-other`))) as { sandboxId: string };
    try {
      const listed = ok(await call({ op: "list", metadata: { "lakitu.deployment": dep } })) as {
        sandboxes: Array<{ sandboxId: string; metadata: Record<string, string> }>;
      };
      expect(listed.sandboxes.map((s) => s.sandboxId).sort()).toEqual([a.sandboxId, b.sandboxId].sort());
      const one = ok(await call({ op: "list", metadata: { "lakitu.deployment": dep, "lakitu.session": "s-list-b" } })) as typeof listed;
      expect(one.sandboxes).toEqual([{ sandboxId: b.sandboxId, metadata: { "lakitu.session": "s-list-b", "lakitu.deployment": dep } }]);
      const none = ok(await call({ op: "list", metadata: { "lakitu.deployment": "nobody" } })) as typeof listed;
      expect(none.sandboxes).toEqual([]);
    } finally {
      for (const s of [a, b, other]) await call({ op: "kill", sandboxId: s.sandboxId });
    }
  }, 30_000);

  it("reports a sandbox the host killed for crossing a limit as gone, with the host's reason", async () => {
    const small = await startSandboxHost({ root: tempRoot("provider-limit"), templates: ["lakitu"], limits: { diskBytes: 4 * 1024 * 1024 }, warn: () => {} });
    try {
      const handler = e2bProvider({
        apiKey: small.apiKey,
        command: "sh -c 'head -c 8388608 /dev/zero > /home/user/workspace/big; sleep 60'",
        connection: { apiUrl: small.url, sandboxUrl: small.url },
      });
      const call = (request: ProviderRequest) => handler(undefined, { request });
      const { sandboxId } = ok(await call(createRequest("s-limit", "tok-limit"))) as { sandboxId: string };
      const status = await waitFor("the sandbox to be killed", async () => {
        const r = await call({ op: "status", sandboxId });
        return r.ok && r.op === "status" && r.state === "gone" ? r : undefined;
      }, 30_000);
      expect(status).toEqual({ ok: true, op: "status", state: "gone", reason: expect.stringMatching(/^sandbox \w+ was killed by the host: disk limit 4 MiB exceeded/) });
      // A sandbox that simply does not exist is gone without a reason.
      expect(await call({ op: "status", sandboxId: "nosuchsandbox0000000" })).toEqual({ ok: true, op: "status", state: "gone" });
    } finally {
      await small.close();
    }
  }, 60_000);

  it("kills the sandbox when the runtime cannot be started", async () => {
    // A working directory that does not exist: envd refuses the start.
    const call = provider({ cwd: "/home/user/does-not-exist" });
    const r = await call(createRequest("s-badcwd", "t"));
    expect(r).toMatchObject({ ok: false, error: { retryable: false } });
    expect(host.list().filter((s) => s.metadata["lakitu.session"] === "s-badcwd")).toEqual([]);
  });

  describe("error mapping", () => {
    it("a wrong API key → auth, not retryable", async () => {
      const r = await provider({ apiKey: "e2b_wrong" })(createRequest("s-auth", "t"));
      expect(r).toMatchObject({ ok: false, error: { code: "auth", retryable: false } });
      const s = await provider({ apiKey: "e2b_wrong" })({ op: "status", sandboxId: "x" });
      expect(s).toMatchObject({ ok: false, error: { code: "auth", retryable: false } });
    });

    it("no API key at all → auth, without a request", async () => {
      const saved = process.env.E2B_API_KEY;
      delete process.env.E2B_API_KEY;
      try {
        const r = await e2bProvider({ connection: { apiUrl: host.url, sandboxUrl: host.url } })(undefined, {
          request: { op: "status", sandboxId: "x" },
        });
        expect(r).toMatchObject({ ok: false, error: { code: "auth", retryable: false } });
      } finally {
        if (saved !== undefined) process.env.E2B_API_KEY = saved;
      }
    });

    it("too many sandboxes → rate_limited, retryable", async () => {
      const small = await startSandboxHost({ root: tempRoot("provider-cap"), maxSandboxes: 1, warn: () => {} });
      try {
        const call = (request: ProviderRequest) =>
          e2bProvider({ apiKey: small.apiKey, command: "sleep 30", connection: { apiUrl: small.url, sandboxUrl: small.url, retries: 0 } })(
            undefined,
            {
              request,
            },
          );
        ok(await call(createRequest("s-cap-1", "t")));
        const r = await call(createRequest("s-cap-2", "t"));
        expect(r).toMatchObject({ ok: false, error: { code: "rate_limited", retryable: true } });
      } finally {
        await small.close();
      }
    });

    it("an unknown template → not_found; a host that is down → unavailable, retryable", async () => {
      const r = await provider()({ ...createRequest("s-tpl", "t"), template: "nope" } as ProviderRequest);
      expect(r).toMatchObject({ ok: false, error: { code: "not_found", retryable: false } });
      const down = await startSandboxHost({ root: tempRoot("provider-down"), warn: () => {} });
      await down.close();
      const d = await e2bProvider({ apiKey: down.apiKey, connection: { apiUrl: down.url, sandboxUrl: down.url } })(undefined, {
        request: { op: "status", sandboxId: "x" },
      });
      expect(d).toMatchObject({ ok: false, error: { code: "unavailable", retryable: true } });
    });
  });
});
