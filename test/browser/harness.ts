/**
 * Browser tests' harness: `lakitu dev` as a child process in a temporary project folder, Debian's
 * Chromium driven by `playwright-core`, screenshots kept under `test-results/browser/`, and the checks
 * that no process of the server (its sandboxes' bubblewrap and runtime processes included) outlives it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const SHOTS = join(REPO, "test-results", "browser");
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// ---------------------------------------------------------------- the dev server

export type DevServer = {
  /** `http://127.0.0.1:<port>/` as the server printed it. */
  url: string;
  pid: number;
  /** The temporary project folder it runs in. */
  dir: string;
  /** Everything the server printed so far (stdout + stderr), for failure messages. */
  output(): string;
  /** Calls the local API as the dashboard does: `POST /api/query` or `/api/mutation`. Throws on `ok: false`. */
  call<T = unknown>(kind: "query" | "mutation", name: string, args: Record<string, unknown>): Promise<T>;
  /** Every process seen descending from the server so far (sampled every 500 ms). */
  processes(): Array<{ pid: number; cmd: string }>;
  /**
   * SIGTERM to its process group, waits for it to exit (SIGKILL after 30 s), then checks that no
   * process it started is left; throws naming them if one is.
   */
  stop(): Promise<void>;
};

export type BoardsFile = { boards: Array<{ name: string; description?: string; stages: unknown[] }> };

/** Starts `lakitu dev --port 0 [--boards FILE]` in a fresh temporary project folder. */
export async function startDev(opts: { boards?: BoardsFile; timeoutMs?: number } = {}): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), "lakitu-browser-"));
  const args = [join(REPO, "node_modules/tsx/dist/cli.mjs"), join(REPO, "cli/index.ts"), "dev", "--port", "0"];
  if (opts.boards) {
    const file = join(dir, "boards.json");
    writeFileSync(file, JSON.stringify(opts.boards, null, 2));
    args.push("--boards", file);
  }
  const child = spawn(process.execPath, args, {
    cwd: dir,
    detached: true, // its own process group: stop() signals the whole group
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", TSX_TSCONFIG_PATH: join(REPO, "tsconfig.json") },
  });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (out += s));
  const exited = new Promise<number | null>((r) => child.once("exit", (code, signal) => r(code ?? (signal ? -1 : null))));
  const tracker = trackDescendants(child.pid!);
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => done(new Error(`lakitu dev printed no URL within ${opts.timeoutMs ?? 120_000} ms; its output:\n${out}`)), opts.timeoutMs ?? 120_000);
    const poll = setInterval(() => {
      const m = /Lakitu dev: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) done(undefined, m[1]);
    }, 50);
    void exited.then((code) => done(new Error(`lakitu dev exited (${code}) before printing its URL; its output:\n${out}`)));
    let settled = false;
    function done(err?: Error, u?: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (err) rej(err);
      else res(u!);
    }
  }).catch(async (e) => {
    await killGroup(child, exited);
    tracker.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });

  return {
    url,
    pid: child.pid!,
    dir,
    output: () => out,
    processes: () => tracker.seen().map(({ pid, cmd }) => ({ pid, cmd })),
    async call(kind, name, args) {
      const res = await fetch(new URL(`api/${kind}`, url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, args }) });
      const body = (await res.json()) as { ok: boolean; value?: unknown; code?: string; message?: string };
      if (!body.ok) throw new Error(`${kind} ${name}: ${res.status} ${body.code}: ${body.message}`);
      return body.value as never;
    },
    async stop() {
      tracker.sample();
      const forced = await killGroup(child, exited);
      tracker.stop();
      const left = await waitGone(tracker.seen(), 10_000);
      rmSync(dir, { recursive: true, force: true });
      if (forced) throw new Error(`lakitu dev did not exit within 30 s of SIGTERM (killed); its output:\n${out.slice(-4000)}`);
      if (left.length) throw new Error(`processes of lakitu dev outlived it: ${left.map((p) => `${p.pid} ${p.cmd}`).join("; ")}`);
    },
  };
}

/** SIGTERM to the group, wait up to 30 s, then SIGKILL. True when it had to be killed. */
async function killGroup(child: ChildProcess, exited: Promise<unknown>): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  signalGroup(child.pid!, "SIGTERM");
  const inTime = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
  if (inTime) return false;
  signalGroup(child.pid!, "SIGKILL");
  await exited;
  return true;
}

function signalGroup(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone already
  }
}

type Proc = { pid: number; start: string; cmd: string };

/**
 * Every process descended from `root` (sandboxes run detached, in sessions of their own, so the
 * process group is not enough), sampled every 500 ms while the server runs: stop() then checks that
 * each one seen is gone (same pid and start time).
 */
function trackDescendants(root: number) {
  const seen = new Map<string, Proc>();
  const sample = () => {
    const all = processTable();
    const children = new Map<number, number[]>();
    for (const p of all.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
    const stack = [...(children.get(root) ?? [])];
    while (stack.length) {
      const pid = stack.pop()!;
      const p = all.get(pid);
      if (!p) continue;
      seen.set(`${pid}:${p.start}`, { pid, start: p.start, cmd: p.cmd });
      stack.push(...(children.get(pid) ?? []));
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return { sample, stop: () => clearInterval(timer), seen: () => [...seen.values()] };
}

function processTable(): Map<number, { pid: number; ppid: number; start: string; cmd: string }> {
  const table = new Map<number, { pid: number; ppid: number; start: string; cmd: string }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = procInfo(Number(name));
    if (p) table.set(p.pid, p);
  }
  return table;
}

function procInfo(pid: number): { pid: number; ppid: number; start: string; cmd: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split after the last ')'.
    const close = stat.lastIndexOf(")");
    const rest = stat.slice(close + 2).split(" ");
    if (rest[0] === "Z") return undefined; // a zombie whose parent has not reaped it yet is not running
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim() || stat.slice(stat.indexOf("(") + 1, close);
    return { pid, ppid: Number(rest[1]), start: rest[19], cmd: cmd.slice(0, 200) };
  } catch {
    return undefined;
  }
}

async function waitGone(procs: Proc[], ms: number): Promise<Proc[]> {
  const end = Date.now() + ms;
  for (;;) {
    const left = procs.filter((p) => procInfo(p.pid)?.start === p.start);
    if (left.length === 0 || Date.now() > end) return left;
    await sleep(200);
  }
}

// ---------------------------------------------------------------- the browser

/** Chromium from `LAKITU_CHROMIUM` or Debian's `/usr/bin/chromium`; fails (never skips) without it. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.LAKITU_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(
      `the browser tests need Chromium at ${executablePath}, which does not exist: install it with \`apt-get install -y chromium\` (or set LAKITU_CHROMIUM to a Chromium binary)`,
    );
  }
  return await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/**
 * A page at laptop width whose uncaught errors are collected (`errors`), and a `shot(step, element?)`
 * that saves `test-results/browser/<test>-<step>.png`.
 */
export async function openPage(browser: Browser, test: string, url: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e?.stack ?? e)));
  await page.goto(url);
  mkdirSync(SHOTS, { recursive: true });
  const shot = async (step: string, element?: Locator) => {
    const path = join(SHOTS, `${test}-${step}.png`);
    await (element ? element.screenshot({ path }) : page.screenshot({ path, fullPage: true }));
  };
  return { page, context, errors, shot };
}

/** Saves a screenshot of the whole page, or of `element` (scrolled into view) when given. */
export type Shot = (step: string, element?: Locator) => Promise<void>;

// ---------------------------------------------------------------- waiting

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `cond` until it returns a truthy value (which it returns); fails naming `what` after `ms`,
 * with what `detail` says then (e.g. the element's HTML).
 */
export async function waitFor<T>(what: string, cond: () => Promise<T> | T, ms = 60_000, detail?: () => Promise<string>): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const more = detail ? await detail().catch((e: Error) => `(no detail: ${e.message})`) : "";
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})${more ? `; ${more}` : ""}`);
    }
    await sleep(200);
  }
}

/** The seqs of the console's rows, in document order. */
export async function consoleSeqs(page: Page): Promise<number[]> {
  return await page.locator('ol[aria-label="Console"] li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
}

/** Strictly increasing (so no duplicates). */
export function strictlyIncreasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]);
}
