/**
 * `lakitu sandbox serve` runs the local host until stopped; the e2b SDK, pointed at what it prints,
 * creates a sandbox there; `lakitu status --sandboxes` lists it (through `Sandbox.list`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Sandbox, type ConnectionOpts } from "e2b";
import { afterEach, describe, expect, test } from "vitest";
import { makeApp, type App } from "../testing/fixtures.js";
import { lakitu, type Run } from "../testing/run.js";

const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));
function app(): App {
  const a = makeApp({ "package.json": "{}\n", "rt/main.js": "console.log('runtime');\n" });
  apps.push(a);
  return a;
}

/** Starts `sandbox serve` in-process; resolves once it printed its settings. */
async function serve(a: App, args: string[]) {
  const stop = new AbortController();
  let printed = "";
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done: Promise<Run> = lakitu(a.root, ["sandbox", "serve", "--port", "0", "--isolation", "none", "--runtime", "rt", ...args], {
    signal: stop.signal,
    onStdout: (t) => {
      printed += t;
      if (printed.includes("LAKITU_RUNTIME_COMMAND")) ready();
    },
  });
  await Promise.race([isReady, done.then((r) => Promise.reject(new Error(`serve exited ${r.code}: ${r.stderr}`)))]);
  const env = Object.fromEntries([...printed.matchAll(/^ {2}(E2B_API_URL|E2B_SANDBOX_URL|E2B_API_KEY|LAKITU_RUNTIME_COMMAND)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return { env, printed: () => printed, stop: () => (stop.abort(), done) };
}

describe("lakitu sandbox serve", () => {
  test("prints how to reach it, serves the SDK until stopped, then kills its sandboxes", async () => {
    const a = app();
    const host = await serve(a, []);
    expect(host.env.E2B_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.env.E2B_SANDBOX_URL).toBe(host.env.E2B_API_URL);
    expect(host.env.E2B_API_KEY).toMatch(/\S{16,}/);
    expect(host.env.LAKITU_RUNTIME_COMMAND).toBe(JSON.stringify(`${process.execPath} ${a.root}/rt/main.js`));

    const conn: ConnectionOpts = { apiKey: host.env.E2B_API_KEY, apiUrl: host.env.E2B_API_URL, sandboxUrl: host.env.E2B_SANDBOX_URL };
    const sbx = await Sandbox.create("lakitu", { ...conn, metadata: { "lakitu.run": "r1", "lakitu.card": "c1" } });
    expect((await sbx.commands.run("echo hi")).stdout).toBe("hi\n");

    const env = { E2B_API_KEY: host.env.E2B_API_KEY, E2B_API_URL: host.env.E2B_API_URL };
    const listed = await lakitu(a.root, ["status", "--sandboxes"], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`Sandboxes (1) on ${host.env.E2B_API_URL}`);
    expect(listed.stdout).toMatch(new RegExp(`${sbx.sandboxId} +lakitu +running since .* run r1, card c1`));
    const json = (await lakitu(a.root, ["status", "--sandboxes", "--json"], { env })).json();
    expect(json.sandboxes).toEqual([expect.objectContaining({ sandboxId: sbx.sandboxId, templateId: "lakitu", metadata: { "lakitu.run": "r1", "lakitu.card": "c1" } })]);

    const stopped = await host.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("Stopped; killed 1 sandbox(es).");
  }, 30_000);

  test("--component-url and --shared-network reach the host: the bridge's upstream and the network mode are reported", async () => {
    const a = app();
    const stop = new AbortController();
    let first = "";
    const argv = ["sandbox", "serve", "--port", "0", "--runtime", "rt", "--json", "--component-url", "http://127.0.0.1:3211/", "--shared-network"];
    const done = lakitu(a.root, argv, {
      signal: stop.signal,
      onStdout: (t) => {
        if (!first) {
          first = t;
          stop.abort();
        }
      },
    });
    await done;
    expect(JSON.parse(first)).toMatchObject({ ok: true, event: "ready", componentUrl: "http://127.0.0.1:3211", network: "shared" });
  });

  test("--json: one line when ready, one document when stopped", async () => {
    const a = app();
    const stop = new AbortController();
    let first = "";
    const done = lakitu(a.root, ["sandbox", "serve", "--port", "0", "--isolation", "none", "--runtime", "rt", "--json", "--api-key", "k".repeat(20)], {
      signal: stop.signal,
      onStdout: (t) => {
        if (!first) {
          first = t;
          stop.abort();
        }
      },
    });
    const r = await done;
    expect(JSON.parse(first)).toMatchObject({ ok: true, event: "ready", apiKey: "k".repeat(20), isolation: "none" });
    expect(JSON.parse(r.stdout.slice(first.length))).toMatchObject({ ok: true, stopped: true, killed: 0 });
  });

  test("a port in use and a missing runtime are clear errors", async () => {
    const a = app();
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    try {
      const port = String((busy.address() as AddressInfo).port);
      const r = await lakitu(a.root, ["sandbox", "serve", "--port", port, "--isolation", "none", "--runtime", "rt"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`port ${port} is in use`);
    } finally {
      busy.close();
    }
    const missing = await lakitu(a.root, ["sandbox", "serve", "--runtime", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--runtime nope: no main.js in");
  });
});
