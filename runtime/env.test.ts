import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseEnv, tokenFromFile } from "./env.js";

const TOKEN = "lkt.sess1.SECRET-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const good = {
  LAKITU_URL: "https://example.convex.site/lakitu",
  LAKITU_TOKEN: TOKEN,
  LAKITU_GENERATION: "3",
  LAKITU_RUN_ID: "run_1",
  LAKITU_SESSION_ID: "sess1",
};

describe("parseEnv", () => {
  it("parses a complete environment with defaults", () => {
    const r = parseEnv(good, "/work/ws");
    expect(r).toEqual({
      ok: true,
      env: {
        url: "https://example.convex.site/lakitu",
        token: TOKEN,
        generation: 3,
        runId: "run_1",
        sessionId: "sess1",
        workspace: "/work/ws",
        heartbeatMs: 15_000,
        stepTimeoutMs: 120_000,
        maxOutputBytes: 16_384,
      },
    });
  });

  it("takes the sandbox's agent user, component socket and storage origin; a socket rules the storage origin out", () => {
    const sandbox = { ...good, LAKITU_AGENT_USER: "lakitu-agent", LAKITU_STORAGE_ORIGIN: "https://example.convex.cloud" };
    expect(parseEnv(sandbox, "/w")).toMatchObject({ ok: true, env: { agentUser: "lakitu-agent", storageOrigin: "https://example.convex.cloud" } });
    const local = parseEnv({ ...sandbox, LAKITU_COMPONENT_SOCKET: "/run/lakitu/component.sock" }, "/w");
    expect(local).toMatchObject({ ok: true, env: { componentSocket: "/run/lakitu/component.sock" } });
    expect(local.ok && local.env.storageOrigin).toBeUndefined();
    expect(parseEnv({ ...good, LAKITU_STORAGE_ORIGIN: "https://example.convex.cloud/api" }, "/w")).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^LAKITU_STORAGE_ORIGIN \(origin of the deployment's storage upload URLs.*\): must be an http\(s\) origin/)],
    });
    expect(parseEnv({ ...good, LAKITU_AGENT_USER: "Root Admin" }, "/w")).toEqual({ ok: false, problems: [expect.stringMatching(/^LAKITU_AGENT_USER \(the user agent code runs as\): must be a user name/)] });
  });

  it("takes the optional settings and resolves the workspace", () => {
    const r = parseEnv(
      { ...good, LAKITU_URL: "http://127.0.0.1:3211/lakitu/", LAKITU_WORKSPACE: "sub", LAKITU_HEARTBEAT_MS: "500", LAKITU_STEP_TIMEOUT_MS: "9000", LAKITU_MAX_OUTPUT_BYTES: "1024" },
      "/work",
    );
    expect(r.ok && r.env).toMatchObject({ url: "http://127.0.0.1:3211/lakitu", workspace: "/work/sub", heartbeatMs: 500, stepTimeoutMs: 9000, maxOutputBytes: 1024 });
  });

  it("reports one line per problem, naming the variable, never the token", () => {
    const r = parseEnv({ LAKITU_URL: "ftp://x", LAKITU_TOKEN: TOKEN, LAKITU_GENERATION: "two", LAKITU_RUN_ID: "", LAKITU_HEARTBEAT_MS: "-5" });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^LAKITU_URL .*http\(s\) URL/);
    expect(problems.find((p) => p.startsWith("LAKITU_GENERATION"))).toMatch(/whole number/);
    expect(problems.find((p) => p.startsWith("LAKITU_RUN_ID"))).toMatch(/empty/);
    expect(problems.find((p) => p.startsWith("LAKITU_SESSION_ID"))).toMatch(/not set/);
    expect(problems.find((p) => p.startsWith("LAKITU_HEARTBEAT_MS"))).toBeDefined();
    expect(problems.join("\n")).not.toContain("SECRET");
  });

  it("rejects a malformed token without echoing it", () => {
    const r = parseEnv({ ...good, LAKITU_TOKEN: "short secret" });
    expect(r.ok).toBe(false);
    const text = r.ok ? "" : r.problems.join("\n");
    expect(text).toMatch(/^LAKITU_TOKEN/);
    expect(text).not.toContain("short secret");
  });
});

describe("main with a bad environment", () => {
  it("exits 2, names each bad variable on stderr and never prints the token", async () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const child = spawn("npx", ["tsx", "runtime/main.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LAKITU_URL: "not a url", LAKITU_TOKEN: TOKEN, LAKITU_GENERATION: "x", LAKITU_RUN_ID: "run_1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code).toBe(2);
    const lines = out.split("\n").filter((l) => l.startsWith("[lakitu]"));
    expect(lines).toEqual([
      expect.stringMatching(/^\[lakitu\] invalid environment: LAKITU_URL /),
      expect.stringMatching(/^\[lakitu\] invalid environment: LAKITU_GENERATION .*whole number/),
      expect.stringMatching(/^\[lakitu\] invalid environment: LAKITU_SESSION_ID .*not set/),
    ]);
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain("SECRET");
  }, 60_000);
});

describe("tokenFromFile", () => {
  it("reads the token from LAKITU_TOKEN_FILE (relative to HOME, else the workspace) and deletes the file", async () => {
    const { mkdtempSync, writeFileSync, existsSync, mkdirSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const ws = mkdtempSync(join(tmpdir(), "lakitu-token-"));
    mkdirSync(join(ws, ".lakitu"));
    writeFileSync(join(ws, ".lakitu/session-token"), "lkt.s1.secret-value-0123456789\n");
    const r = tokenFromFile({ LAKITU_TOKEN_FILE: ".lakitu/session-token", LAKITU_WORKSPACE: ws }, "/");
    expect(r.problem).toBeUndefined();
    expect(r.env.LAKITU_TOKEN).toBe("lkt.s1.secret-value-0123456789");
    expect(existsSync(join(ws, ".lakitu/session-token"))).toBe(false);
    // With HOME set (root's home in a sandbox) the file is found there, not in the workspace.
    const home = mkdtempSync(join(tmpdir(), "lakitu-home-"));
    mkdirSync(join(home, ".lakitu"));
    writeFileSync(join(home, ".lakitu/session-token"), "lkt.s1.from-home-0123456789\n");
    writeFileSync(join(ws, ".lakitu/session-token"), "lkt.s1.from-workspace-0123456789\n");
    const h = tokenFromFile({ LAKITU_TOKEN_FILE: ".lakitu/session-token", LAKITU_WORKSPACE: ws, HOME: home }, "/");
    expect(h.env.LAKITU_TOKEN).toBe("lkt.s1.from-home-0123456789");
    expect(existsSync(join(home, ".lakitu/session-token"))).toBe(false);
  });

  it("names the variable when the file cannot be read, without a token", () => {
    const r = tokenFromFile({ LAKITU_TOKEN_FILE: "/nonexistent/token" });
    expect(r.problem).toMatch(/^LAKITU_TOKEN_FILE \(file holding the session token\): cannot read \/nonexistent\/token: ENOENT/);
    expect(r.env.LAKITU_TOKEN).toBeUndefined();
  });

  it("leaves an environment that already has LAKITU_TOKEN alone", () => {
    const env = { LAKITU_TOKEN: "x".repeat(20), LAKITU_TOKEN_FILE: "/nonexistent" };
    expect(tokenFromFile(env)).toEqual({ env });
  });
});
