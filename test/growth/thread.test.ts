/**
 * Growth at realistic sizes, under the limits harness: a card thread of 200 turns. The first 190
 * turns are seeded into the card's agent thread as the gateway stores them (a prompt opening with the
 * stage's marker, then the reply); the last 10 are real turns through the `/llm` route to a loopback
 * model server, each with a 100 KB observation. What the model receives must stay within the bounded
 * context (convex/gateway/context.ts), every function within Convex's limits, and the transcript must
 * still page through all 400 messages.
 */
import * as vitest from "vitest";
import { expect, test } from "vitest";
import { createThread, saveMessages } from "@convex-dev/agent";
import { api, components } from "../../convex/component/_generated/api.js";
import type { Id } from "../../convex/component/_generated/dataModel.js";
import { stageMarker } from "../../convex/gateway/context.js";
import { MAX_MODEL_OBSERVATION_CHARS, MODEL_CONTEXT_HISTORY_CHARS, MODEL_CONTEXT_MESSAGES } from "../../convex/shared/defaults.js";
import { makeBoard, setup } from "../../convex/testing/harness.js";
import { listAll } from "../../convex/testing/listAll.js";
import { useModelServer, type SeenRequest } from "../../convex/testing/modelServer.js";
import { startRunning } from "../../convex/testing/runHelpers.js";

const server = useModelServer(vitest, "sk-loopback-test-key-0123456789");

const SEEDED_TURNS = 190;
const REAL_TURNS = 10;
const OBSERVATION_CHARS = 100_000;

/** The non-system messages of a request to the model, as text. */
function texts(req: SeenRequest): string[] {
  return (req.body.messages as { role: string; content: string | { text: string }[] }[])
    .filter((m) => m.role !== "system")
    .map((m) => (typeof m.content === "string" ? m.content : m.content.map((c) => c.text).join("")));
}

test("a card thread of 200 turns: every turn sends a bounded context within the limits, and the transcript pages", async () => {
  const { t, providerHandle, limits } = await setup();
  const { cardId, stageIds } = await makeBoard(t);
  await t.mutation(api.boards.updateStage, { stageId: stageIds[0], patch: { model: "compatible/test-model", limits: { maxAttempts: 1, maxSteps: 100 } } });
  const marker = stageMarker(stageIds[0], "Research", 1);

  // 190 earlier turns of this stage: a prompt with a page of tool output (every fifth one a big output,
  // stored at the observation cap as the gateway stores it), then a reply.
  await t.run(async (ctx) => {
    const threadId = await createThread(ctx, components.agent, { title: "Write about otters" });
    for (let turn = 0; turn < SEEDED_TURNS; turn += 19) {
      const messages = [];
      for (let i = turn; i < turn + 19; i++) {
        const output = i % 5 === 0 ? "b".repeat(MAX_MODEL_OBSERVATION_CHARS - 40) : "tool output line\n".repeat(90);
        messages.push({ role: "user" as const, content: `${marker}\nseeded observation ${i}: ${output}` });
        messages.push({ role: "assistant" as const, content: `seeded reply ${i}: ${"next I will run the script. ".repeat(20)}` });
      }
      await saveMessages(ctx, components.agent, { threadId, messages });
    }
    await ctx.db.patch(cardId as Id<"cards">, { threadId });
  });

  const { rt } = await startRunning(t, cardId, providerHandle);
  const { seen, replies } = server();
  for (let step = 0; step < REAL_TURNS; step++) {
    replies.push({ content: `reply ${step}` });
    const observation = `OBS-${step}-HEAD ${"o".repeat(OBSERVATION_CHARS)} OBS-${step}-TAIL`;
    const answer = await rt.post("llm", { step, observation });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ reply: `reply ${step}` });

    const sent = texts(seen.at(-1)!);
    const prompt = sent.at(-1)!;
    const history = sent.slice(0, -1);
    // This turn's prompt: the marker and the observation cut to its cap, head and tail kept.
    expect(prompt.startsWith(`${marker}\nOBS-${step}-HEAD`)).toBe(true);
    expect(prompt.endsWith(`OBS-${step}-TAIL`)).toBe(true);
    expect(prompt.length).toBeLessThanOrEqual(marker.length + 1 + MAX_MODEL_OBSERVATION_CHARS);
    // The history: at most the message cap, within the character budget, the newest, opening with a prompt.
    expect(history.length).toBeLessThanOrEqual(MODEL_CONTEXT_MESSAGES);
    expect(history.reduce((n, m) => n + m.length, 0)).toBeLessThanOrEqual(MODEL_CONTEXT_HISTORY_CHARS);
    expect(history[0].startsWith(marker)).toBe(true);
    expect(history.at(-1)).toEqual(step === 0 ? expect.stringMatching(`^seeded reply ${SEEDED_TURNS - 1}:`) : `reply ${step - 1}`);
    // Every observation in it was cut: the whole request is bounded whatever the thread holds.
    for (const m of history) expect(m.length).toBeLessThanOrEqual(marker.length + 1 + MAX_MODEL_OBSERVATION_CHARS);
    expect(JSON.stringify(seen.at(-1)!.body.messages).length).toBeLessThan(MODEL_CONTEXT_HISTORY_CHARS + 2 * MAX_MODEL_OBSERVATION_CHARS);

    if (step === 0) {
      // Small seeded turns: the message cap is what binds; the thread's oldest turns are not sent.
      expect(history).toHaveLength(MODEL_CONTEXT_MESSAGES);
      expect(history[0]).toContain(`seeded observation ${SEEDED_TURNS - MODEL_CONTEXT_MESSAGES / 2}:`);
      expect(sent.join("\n")).not.toContain("seeded observation 0:");
    }
  }
  // After ten big observations the character budget binds: fewer messages than the cap, near the budget.
  const last = texts(seen.at(-1)!).slice(0, -1);
  expect(last.length).toBeLessThan(MODEL_CONTEXT_MESSAGES);
  expect(last.reduce((n, m) => n + m.length, 0)).toBeGreaterThan(MODEL_CONTEXT_HISTORY_CHARS - 2 * MAX_MODEL_OBSERVATION_CHARS);
  expect(last.join("\n")).not.toContain("OBS-0-HEAD");
  expect(seen).toHaveLength(REAL_TURNS);

  // The transcript still holds every message, newest first, page by page, each text capped.
  const transcript = await listAll(t, api.transcripts.transcript, { cardId }, 100);
  expect(transcript).toHaveLength(2 * (SEEDED_TURNS + REAL_TURNS));
  expect(transcript[0].text).toBe(`reply ${REAL_TURNS - 1}`);
  expect(transcript.at(-1)!.text).toContain("seeded observation 0:");
  expect(transcript.filter((m) => m.truncated)).toHaveLength(REAL_TURNS + SEEDED_TURNS / 5);
  // The harness measured every function a turn runs, the agent component's included.
  const turnFunctions = ["gateway:llm", "gateway:beginTurn", "gateway:endTurn", "agent/messages:listMessagesByThreadId", "agent/messages:addMessages", "transcripts:transcript"];
  expect([...limits.checked]).toEqual(expect.arrayContaining(turnFunctions));
  expect(limits.violations).toEqual([]);
});
