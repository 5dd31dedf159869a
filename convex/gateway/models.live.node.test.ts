/**
 * Live model tests: each runs only when its provider's key is in the environment, and is skipped
 * otherwise. They call the real API through the same model resolution the gateway uses.
 */
import { generateText } from "ai";
import { describe, expect, it } from "vitest";
import { resolveModel } from "./models.js";

const cases = [
  { model: process.env.LAKITU_LIVE_OPENAI_MODEL ?? "openai/gpt-5-mini", key: "OPENAI_API_KEY" },
  { model: process.env.LAKITU_LIVE_OPENROUTER_MODEL ?? "openrouter/anthropic/claude-sonnet-4.5", key: "OPENROUTER_API_KEY" },
  { model: process.env.LAKITU_LIVE_ANTHROPIC_MODEL ?? "anthropic/claude-sonnet-4-5", key: "ANTHROPIC_API_KEY" },
];

describe("live models (need their API keys)", () => {
  for (const c of cases) {
    it.skipIf(!process.env[c.key])(`${c.model} answers with code when asked for code`, async () => {
      const r = await generateText({
        model: resolveModel(c.model, process.env),
        prompt: "Answer with one fenced TypeScript code block that prints 42 and nothing else.",
      });
      expect(r.text).toMatch(/```/);
      expect(r.usage.inputTokens ?? 0).toBeGreaterThan(0);
    }, 60_000);
  }
});
