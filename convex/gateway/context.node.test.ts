/**
 * The bounded model context (README "Models"): the last MODEL_CONTEXT_MESSAGES messages of the current
 * stage within MODEL_CONTEXT_HISTORY_CHARS, and observations cut to MAX_MODEL_OBSERVATION_CHARS. Unit
 * tests of the rules, then through the real gateway to a loopback model server (what the model is sent).
 */
import * as vitest from "vitest";
import { describe, expect, test } from "vitest";
import type { ModelMessage } from "ai";
import { createThread, saveMessage } from "@convex-dev/agent";
import { api, components } from "../component/_generated/api.js";
import type { Id } from "../component/_generated/dataModel.js";
import { makeBoard, setup } from "../testing/harness.js";
import { startRunning } from "../testing/runHelpers.js";
import { useModelServer, type ScriptedReply, type SeenRequest } from "../testing/modelServer.js";
import { MAX_MODEL_OBSERVATION_CHARS, MODEL_CONTEXT_HISTORY_CHARS, MODEL_CONTEXT_MESSAGES } from "../shared/defaults.js";
import { capObservation, stageHistory, stageMarker } from "./context.js";

const server = useModelServer(vitest, "sk-loopback-test-key-0123456789");
let seen: SeenRequest[] = [];
let replies: ScriptedReply[] = [];
vitest.beforeEach(() => {
  seen = server().seen;
  replies = server().replies;
});

const user = (stage: string, text: string, attempt = 1): ModelMessage => ({ role: "user", content: `${stageMarker(stage, "S", attempt)}\n${text}` });
const assistant = (text: string): ModelMessage => ({ role: "assistant", content: text });

describe("context rules", () => {
  test("an observation over the cap keeps its head and tail and says what was cut", () => {
    const text = `HEAD${"x".repeat(100_000)}TAIL`;
    const cut = capObservation(text);
    expect(cut.length).toBeLessThanOrEqual(MAX_MODEL_OBSERVATION_CHARS);
    expect(cut.startsWith("HEAD")).toBe(true);
    expect(cut.endsWith("TAIL")).toBe(true);
    expect(cut).toContain(`characters cut: an observation sent to the model is at most ${MAX_MODEL_OBSERVATION_CHARS} characters`);
    expect(capObservation("short")).toBe("short");
  });

  test("history stops at another stage's prompt; attempts of the same stage continue", () => {
    const recent = [user("A", "a1"), assistant("ra1"), user("B", "b1"), assistant("rb1"), user("B", "b2", 2), assistant("rb2")];
    expect(stageHistory(recent, "B").map((m) => m.content)).toEqual(recent.slice(2).map((m) => m.content));
    expect(stageHistory(recent, "A")).toEqual([]); // A's newest messages are behind B's
    // Unmarked (older) prompts are a boundary too.
    expect(stageHistory([{ role: "user", content: "no marker" }, assistant("r"), user("B", "b")], "B").map((m) => m.content)).toEqual([user("B", "b").content]);
  });

  test("history keeps the newest messages within the character budget and opens with a prompt", () => {
    const recent = [user("B", "x".repeat(50)), assistant("y".repeat(50)), user("B", "z".repeat(50)), assistant("w".repeat(50))];
    const size = (m: ModelMessage) => (m.content as string).length;
    const budget = size(recent[3]) + size(recent[2]) + size(recent[1]);
    // Three fit, but the oldest of them is a reply: the history starts at the prompt after it.
    expect(stageHistory(recent, "B", budget)).toEqual(recent.slice(2));
    expect(stageHistory(recent, "B", budget + size(recent[0]))).toEqual(recent);
  });
});

describe("what the model is sent", () => {
  async function running() {
    const { t, providerHandle } = await setup();
    const { cardId, stageIds } = await makeBoard(t);
    await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { model: "compatible/test-model", limits: { maxAttempts: 1, maxSteps: 100 } } });
    return { t, cardId, stageIds, providerHandle };
  }
  const texts = (req: SeenRequest) =>
    (req.body.messages as { role: string; content: string | { text: string }[] }[])
      .filter((m) => m.role !== "system")
      .map((m) => (typeof m.content === "string" ? m.content : m.content.map((c) => c.text).join("")));

  test("after many turns: at most MODEL_CONTEXT_MESSAGES recent messages, the newest; a big observation is cut", async () => {
    const { t, cardId, providerHandle } = await running();
    const { rt } = await startRunning(t, cardId, providerHandle);
    const turns = MODEL_CONTEXT_MESSAGES / 2 + 5;
    for (let i = 0; i < turns; i++) {
      replies.push({ content: `reply ${i}` });
      expect((await rt.post("llm", { step: i, observation: `observation ${i}` })).status).toBe(200);
    }
    const last = texts(seen.at(-1)!);
    // History (at most the cap) plus this turn's prompt.
    expect(last.length).toBe(MODEL_CONTEXT_MESSAGES + 1);
    expect(last.at(-2)).toBe(`reply ${turns - 2}`);
    expect(last.at(-1)).toContain(`observation ${turns - 1}`);
    expect(last.some((m) => m.endsWith("\nobservation 0"))).toBe(false);

    replies.push({ content: "ok" });
    const big = `START${"o".repeat(150_000)}END`;
    expect((await rt.post("llm", { step: turns, observation: big })).status).toBe(200);
    const prompt = texts(seen.at(-1)!).at(-1)!;
    expect(prompt.length).toBeLessThanOrEqual(MAX_MODEL_OBSERVATION_CHARS + 200);
    expect(prompt).toContain("START");
    expect(prompt.endsWith("END")).toBe(true);
    // The whole request stays within the history budget plus one observation plus the system prompt.
    expect(JSON.stringify(seen.at(-1)!.body.messages).length).toBeLessThan(MODEL_CONTEXT_HISTORY_CHARS + 2 * MAX_MODEL_OBSERVATION_CHARS);
  });

  test("messages of an earlier stage in the card's thread are not sent", async () => {
    const { t, cardId, providerHandle } = await running();
    await t.run(async (ctx) => {
      const threadId = await createThread(ctx, components.agent, { title: "card" });
      await saveMessage(ctx, components.agent, { threadId, prompt: `${stageMarker("earlier-stage", "Plan", 1)}\nSECRET-PLAN notes` });
      await saveMessage(ctx, components.agent, { threadId, message: { role: "assistant", content: "EARLIER reply" } });
      await ctx.db.patch(cardId as Id<"cards">, { threadId });
    });
    const { rt } = await startRunning(t, cardId, providerHandle);
    replies.push({ content: "first" }, { content: "second" });
    await rt.post("llm", { step: 0, observation: "Begin." });
    await rt.post("llm", { step: 1, observation: "next" });
    const sent = texts(seen.at(-1)!);
    expect(sent).toHaveLength(3);
    expect(sent.join("\n")).not.toContain("SECRET-PLAN");
    expect(sent.join("\n")).not.toContain("EARLIER");
    // The transcript still holds the whole thread.
    const transcript = await t.query(api.transcripts.transcript, { cardId, paginationOpts: { numItems: 20, cursor: null } });
    expect(transcript.page.map((m: { text: string }) => m.text).join("\n")).toContain("EARLIER reply");
  });
});
