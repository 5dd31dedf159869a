/**
 * `lakitu dev`'s local API over real HTTP: a dev server on port 0 in a temp project with a boards file,
 * the real component on convex-test, real sandboxes and the scripted model.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDev, type Dev } from "./start.js";

let dir: string;
let dev: Dev;
let base: string;

const BOARDS = {
  boards: [
    {
      name: "Articles",
      description: "declared in lakitu/boards.json",
      stages: [
        { name: "Write", kind: "agent", goals: ["Write a short note"], deliverables: [{ name: "note.md", type: "markdown", checks: { minWords: 20 } }], autoAdvance: true },
        { name: "Done", kind: "done" },
      ],
    },
  ],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lakitu-dev-"));
  mkdirSync(join(dir, "lakitu"));
  writeFileSync(join(dir, "lakitu", "boards.json"), JSON.stringify(BOARDS));
  dev = await startDev({ cwd: dir, port: 0 });
  base = dev.url.replace(/\/$/, "");
}, 120_000);

afterAll(async () => {
  await dev?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api(kind: "query" | "mutation", name: string, args: unknown = {}, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/api/${kind}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ name, args }) });
  return { status: res.status, body: (await res.json()) as any };
}

async function waitFor<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("lakitu dev local API", () => {
  test("GET /api/info says the model, the isolation, that run history is not kept, and the declared boards", async () => {
    const info = (await (await fetch(`${base}/api/info`)).json()) as any;
    expect(info.model).toBe("scripted");
    expect(["bwrap", "none"]).toContain(info.isolation);
    expect(info.persistence.runHistoryKept).toBe(false);
    expect(info.persistence.note).toMatch(/not kept/);
    expect(info.boards).toHaveLength(1);
    expect(info.boards).toEqual(dev.info.boards);
  });

  test("GET / serves the dashboard page and /assets/main.js its bundle", async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/assets/main.js">');
    const js = await fetch(`${base}/assets/main.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  test("the declared board exists; addCard then listCards round-trips through the component", async () => {
    const [boardId] = dev.info.boards;
    const board = await api("query", "getBoard", { boardId });
    expect(board.status).toBe(200);
    expect(board.body.value.board.name).toBe("Articles");
    expect(board.body.value.stages.map((s: { name: string }) => s.name)).toEqual(["Write", "Done"]);
    const added = await api("mutation", "addCard", { boardId, title: "Round trip" });
    expect(added.status).toBe(200);
    const cardId = added.body.value as string;
    const cards = await api("query", "listCards", { boardId, paginationOpts: { numItems: 50, cursor: null } });
    expect(cards.body.value.page.map((c: { cardId: string; title: string }) => [c.cardId, c.title])).toContainEqual([cardId, "Round trip"]);
  });

  test("a component error arrives as it is: code, message and field path", async () => {
    const r = await api("mutation", "createBoard", { name: "  ", stages: [{ name: "Done", kind: "done" }] });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ ok: false, code: "invalid_argument", message: "name must not be empty", path: "name" });
    const missing = await api("mutation", "addCard", { boardId: "nope", title: "Orphan" });
    expect(missing.status).toBe(404);
    expect(missing.body.ok).toBe(false);
    expect(missing.body.code).toBe("not_found");
  });

  test("an unknown name is a 404 listing the known ones; a query name is not a mutation", async () => {
    const r = await api("query", "dropTables", {});
    expect(r.status).toBe(404);
    expect(r.body.code).toBe("not_found");
    expect(r.body.message).toContain("getBoard");
    expect(r.body.message).toContain("listActiveRuns");
    const wrongKind = await api("mutation", "getBoard", { boardId: "x" });
    expect(wrongKind.status).toBe(404);
    expect(wrongKind.body.message).toContain("runCard");
  });

  test("a bad body is a 400 naming the field", async () => {
    const r = await api("query", "getCard", { cardId: 42 });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("invalid_argument");
    expect(r.body.path).toBe("args.cardId");
    expect(r.body.message).toMatch(/^args\.cardId: /);
    // A field the dev server fills in cannot be passed.
    const filled = await api("mutation", "runCard", { cardId: "x", providerHandle: "function://evil" });
    expect(filled.status).toBe(400);
    expect(filled.body.message).toContain("providerHandle");
    const noName = await fetch(`${base}/api/query`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ args: {} }) });
    expect(noName.status).toBe(400);
    expect(((await noName.json()) as any).path).toBe("name");
  });

  test("a cross-origin or non-JSON POST is refused, and so is a foreign Host", async () => {
    const cross = await api("mutation", "addCard", { boardId: dev.info.boards[0], title: "from elsewhere" }, { origin: "http://evil.example" });
    expect(cross.status).toBe(403);
    expect(cross.body.code).toBe("forbidden");
    const form = await fetch(`${base}/api/mutation`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: "addCard", args: {} }) });
    expect(form.status).toBe(415);
    const same = await api("query", "listBoards", { paginationOpts: { numItems: 5, cursor: null } }, { origin: base });
    expect(same.status).toBe(200);
    const cards = await api("query", "listCards", { boardId: dev.info.boards[0], paginationOpts: { numItems: 50, cursor: null } });
    expect(cards.body.value.page.map((c: { title: string }) => c.title)).not.toContain("from elsewhere");
  });

  test("GET /api/updates streams a commit after a mutation", async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/updates`, { signal: ac.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const versions = () => [...text.matchAll(/event: commit\ndata: (\{.*\})/g)].map((m) => JSON.parse(m[1]).version as number);
    while (versions().length === 0) text += decoder.decode((await reader.read()).value, { stream: true });
    const first = versions()[0];
    await api("mutation", "addCard", { boardId: dev.info.boards[0], title: "Announced" });
    while (!versions().some((v) => v > first)) text += decoder.decode((await reader.read()).value, { stream: true });
    ac.abort();
    expect(Math.max(...versions())).toBeGreaterThan(first);
  });

  test("a card runs to Done through the API; its artifact is served from /api/storage with its content type", async () => {
    const [boardId] = dev.info.boards;
    const cardId = (await api("mutation", "addCard", { boardId, title: "Sea otters" })).body.value as string;
    const run = await api("mutation", "runCard", { cardId });
    expect(run.status).toBe(200);
    await waitFor("the card to reach Done", async () => (await api("query", "getCard", { cardId })).body.value, (c) => c.status === "done", 90_000);
    const artifacts = (await api("query", "listArtifacts", { cardId, paginationOpts: { numItems: 10, cursor: null } })).body.value.page;
    const note = artifacts.find((a: { name: string }) => a.name === "note.md");
    expect(note).toBeDefined();
    const url = (await api("query", "getArtifactUrl", { artifactId: note.artifactId })).body.value as string;
    expect(url).toMatch(/^\/api\/storage\/[^/]+$/);
    const bytes = await fetch(`${base}${url}`);
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get("content-type")).toBe(note.contentType);
    expect(note.contentType).toMatch(/^text\/markdown/);
    expect(bytes.headers.get("content-security-policy")).toBe("sandbox");
    const body = await bytes.text();
    expect(body.split(/\s+/).length).toBeGreaterThanOrEqual(20);
    expect(Buffer.byteLength(body)).toBe(note.size);
    expect((await fetch(`${base}/api/storage/kg2nothing`)).status).toBe(404);
  }, 120_000);
});
