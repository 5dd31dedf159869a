/**
 * The dashboard's `LocalApiClient` against a live `lakitu dev` server (no boards file: it starts with
 * none): watched queries follow writes made by anyone (through the update stream) and by the client
 * itself (before its mutation resolves), and component errors arrive as `ConvexError` with their code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeFunctionReference } from "convex/server";
import { ConvexError } from "convex/values";
import { afterAll, beforeAll, expect, test } from "vitest";
import { LocalApiClient } from "../../dashboard/localClient.js";
import { devFunctions } from "../../dashboard/functions.js";
import { startDev, type Dev } from "./start.js";

let dir: string;
let dev: Dev;
let client: LocalApiClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lakitu-dev-client-"));
  dev = await startDev({ cwd: dir, port: 0 });
  client = new LocalApiClient({ baseUrl: dev.url, reconnectMs: 100 });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await dev?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Resolves when `watch`'s result satisfies `ok` (checked on each update). */
function until<T>(watch: { onUpdate(cb: () => void): () => void; localQueryResult(): unknown }, ok: (v: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      let v: T;
      try {
        v = watch.localQueryResult() as T;
      } catch (e) {
        return reject(e);
      }
      if (v !== undefined && ok(v)) {
        stop();
        resolve(v);
      }
    };
    const stop = watch.onUpdate(check);
    check();
  });
}

type Page = { page: Array<{ title: string }> };

test("without a boards file it starts with no boards; a board made through the client is listed", async () => {
  expect(dev.boardsFile).toBeNull();
  expect(dev.info.boards).toEqual([]);
  const boards = client.watchQuery(devFunctions.listBoards!, { paginationOpts: { numItems: 10, cursor: null } });
  const unwatch = boards.onUpdate(() => {}); // a component that stays mounted
  await until<Page>(boards, (p) => p.page.length === 0);
  const made = (await client.mutation(devFunctions.createBoard!, { name: "From the UI", stages: [{ name: "Todo", kind: "human" }, { name: "Done", kind: "done" }] })) as { boardId: string };
  expect(made.boardId).toMatch(/./);
  // The mutation resolved after the watched queries were read again.
  expect((boards.localQueryResult() as { page: Array<{ name: string }> }).page.map((b) => b.name)).toEqual(["From the UI"]);
  unwatch();
});

test("a watched query updates after a write made elsewhere (the update stream), and after the client's own", async () => {
  const { boardId } = (await client.mutation(devFunctions.createBoard!, { name: "Watched", stages: [{ name: "Todo", kind: "human" }] })) as { boardId: string };
  const cards = client.watchQuery(devFunctions.listCards, { boardId, paginationOpts: { numItems: 20, cursor: null } });
  const unwatch = cards.onUpdate(() => {});
  await until<Page>(cards, (p) => p.page.length === 0);
  // Another tab (a plain HTTP call) adds a card: the commit event makes the client read again.
  const res = await fetch(`${dev.url}api/mutation`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "addCard", args: { boardId, title: "From elsewhere" } }) });
  expect(res.status).toBe(200);
  const seen = await until<Page>(cards, (p) => p.page.length === 1);
  expect(seen.page[0].title).toBe("From elsewhere");
  expect(client.connected).toBe(true);
  await client.mutation(devFunctions.addCard!, { boardId, title: "From the client" });
  expect((cards.localQueryResult() as Page).page.map((c) => c.title).sort()).toEqual(["From elsewhere", "From the client"]);
  unwatch();
});

test("mutation errors arrive as ConvexError with the component's code, message and path", async () => {
  const error = await client.mutation(devFunctions.createBoard!, { name: "", stages: [{ name: "Done", kind: "done" }] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConvexError);
  expect((error as ConvexError<{ code: string; path?: string }>).data).toMatchObject({ code: "invalid_argument", path: "name" });
  const unknown = await client.mutation(makeFunctionReference<"mutation">("dropTables"), {}).catch((e: unknown) => e);
  expect((unknown as ConvexError<{ code: string }>).data.code).toBe("not_found");
});

test("a query error is the watched result (useQuery throws it), as a ConvexError", async () => {
  const watch = client.watchQuery(devFunctions.listRuns, { cardId: "nope", paginationOpts: { numItems: 5, cursor: null } });
  const error = await new Promise<unknown>((resolve) => {
    const stop = watch.onUpdate(() => {
      try {
        watch.localQueryResult();
      } catch (e) {
        stop();
        resolve(e);
      }
    });
  });
  expect(error).toBeInstanceOf(ConvexError);
  expect((error as ConvexError<{ code: string }>).data.code).toBe("not_found");
});
