/**
 * Runtime route bodies: nesting past Convex's limit (16) and per-route size caps are refused with a
 * 400/413 that names the route, before any parsing, and nothing is stored.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { CALLBACK_URL, SimRuntime, makeBoard, runStatus, setup, until } from "../testing/harness.js";
import { listAll } from "../testing/listAll.js";
import { JSON_BODY_LIMITS } from "../shared/routes.js";
import { MAX_JSON_DEPTH } from "../shared/jsonLimits.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function runningCard() {
  const { t, providerHandle, provider } = await setup();
  const board = await makeBoard(t);
  const { runId } = await t.mutation(api.runs.runCard, { cardId: board.cardId, providerHandle, callbackUrl: CALLBACK_URL });
  await until(t, async () => (await runStatus(t, runId)) === "running");
  return { t, runId, rt: new SimRuntime(t, provider.latest()) };
}

/** A value nested `n` levels deep (arrays), as JSON text. */
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

describe("runtime route bodies", () => {
  test("event data nested past the limit is 400 naming the route; at the limit it is stored", async () => {
    const { t, runId, rt } = await runningCard();
    const post = async (path: string, body: string) => {
      const res = await t.fetch(`/${path}`, { method: "POST", headers: rt.headers(), body });
      return { status: res.status, body: (await res.json()) as { ok: boolean; code?: string; message?: string } };
    };
    // body {1} events [2] event {3} data: 13 more levels reach 16 exactly.
    const at = await post("events", `{"events":[{"seq":0,"kind":"log","data":${deep(MAX_JSON_DEPTH - 3)}}]}`);
    expect(at.status).toBe(200);
    const over = await post("events", `{"events":[{"seq":1,"kind":"log","data":${deep(MAX_JSON_DEPTH - 2)}}]}`);
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ ok: false, code: "invalid_argument" });
    expect(over.body.message).toContain(`POST /events: the JSON body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep`);
    // Far deeper than a parser's stack: still a clear 400, never a 500 the runtime would retry.
    const huge = await post("events", `{"events":[{"seq":1,"kind":"log","data":${deep(400_000)}}]}`);
    expect(huge.status).toBe(400);
    expect(huge.body.message).toContain("POST /events");
    const ksa = await post("ksa", `{"ksa":"plan","fn":"add","args":{"title":${deep(100_000)}}}`);
    expect(ksa.status).toBe(400);
    expect(ksa.body.message).toContain(`POST /ksa: the JSON body nests`);
    const complete = await post("complete", `{"status":"succeeded","manifest":${deep(50)}}`);
    expect(complete.status).toBe(400);
    expect(complete.body.message).toContain("POST /complete");
    expect(await listAll(t, api.events.listEvents, { runId })).toHaveLength(1);
    expect(await runStatus(t, runId)).toBe("running");
    // Brackets inside strings are text, not nesting.
    expect((await post("events", JSON.stringify({ events: [{ seq: 1, kind: "log", text: "[".repeat(5_000) }] }))).status).toBe(200);
  });

  test("per-route size caps: a KSA call or a completion over its cap is 413 naming the route", async () => {
    const { t, runId, rt } = await runningCard();
    const ksa = await rt.post("ksa", { ksa: "plan", fn: "add", args: { title: "x".repeat(JSON_BODY_LIMITS.ksa) } });
    expect(ksa.status).toBe(413);
    expect(ksa.body).toMatchObject({ ok: false, code: "too_large" });
    expect(ksa.body.message).toMatch(new RegExp(`^POST /ksa: request body is \\d+ bytes; the limit is ${JSON_BODY_LIMITS.ksa}$`));
    const complete = await rt.post("complete", { status: "succeeded", summary: "s".repeat(JSON_BODY_LIMITS.complete), manifest: [] });
    expect(complete.status).toBe(413);
    expect(complete.body.message).toContain(`POST /complete: request body is`);
    expect(await runStatus(t, runId)).toBe("running");
  });
});
