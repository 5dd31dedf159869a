/**
 * Model strings to AI SDK models. Keys are read from the component's environment here, in the
 * component; they never reach a sandbox.
 *
 * | model string                    | provider                                        | key                         |
 * |---------------------------------|-------------------------------------------------|-----------------------------|
 * | `scripted` (default)            | the offline scripted model                      | —                           |
 * | `openai/<model>`                | OpenAI chat completions (`OPENAI_BASE_URL`)     | `OPENAI_API_KEY`            |
 * | `openrouter/<vendor>/<model>`   | OpenRouter (OpenAI-compatible)                  | `OPENROUTER_API_KEY`        |
 * | `anthropic/<model>`             | Anthropic messages API (`ANTHROPIC_BASE_URL`)   | `ANTHROPIC_API_KEY`         |
 * | `compatible/<model>`            | any OpenAI-compatible server at `LAKITU_COMPATIBLE_BASE_URL` | `LAKITU_COMPATIBLE_API_KEY` (optional) |
 */
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { scriptedModel } from "./scripted.js";

export type Env = Record<string, string | undefined>;

export class ModelConfigError extends Error {}

/** Names of the environment variables holding model keys: redacted wherever they could leak. */
export const MODEL_KEY_VARS = ["OPENAI_API_KEY", "OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "LAKITU_COMPATIBLE_API_KEY"] as const;

export function resolveModel(model: string | undefined, env: Env): LanguageModelV4 {
  const spec = (model ?? "scripted").trim();
  if (spec === "scripted") return scriptedModel();
  const slash = spec.indexOf("/");
  const vendor = slash > 0 ? spec.slice(0, slash) : "";
  const id = slash > 0 ? spec.slice(slash + 1) : "";
  if (!id) throw new ModelConfigError(`model "${spec}" is not <provider>/<model>, e.g. openai/gpt-5-mini or scripted`);
  const key = (name: string) => {
    const value = env[name];
    if (!value) throw new ModelConfigError(`model "${spec}" needs ${name} in the component's environment (app.use(lakitu, { env: { ${name}: ... } }))`);
    return value;
  };
  switch (vendor) {
    case "openai":
      return createOpenAICompatible({ name: "openai", baseURL: env.OPENAI_BASE_URL ?? "https://api.openai.com/v1", apiKey: key("OPENAI_API_KEY"), includeUsage: true }).chatModel(id);
    case "openrouter":
      return createOpenAICompatible({ name: "openrouter", baseURL: "https://openrouter.ai/api/v1", apiKey: key("OPENROUTER_API_KEY"), includeUsage: true }).chatModel(id);
    case "anthropic":
      return createAnthropic({ apiKey: key("ANTHROPIC_API_KEY"), ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}) })(id);
    case "compatible": {
      const baseURL = env.LAKITU_COMPATIBLE_BASE_URL;
      if (!baseURL) throw new ModelConfigError(`model "${spec}" needs LAKITU_COMPATIBLE_BASE_URL in the component's environment`);
      return createOpenAICompatible({ name: "compatible", baseURL, apiKey: env.LAKITU_COMPATIBLE_API_KEY, includeUsage: true }).chatModel(id);
    }
    default:
      throw new ModelConfigError(`model provider "${vendor}" is unknown; use scripted, openai/, openrouter/, anthropic/ or compatible/`);
  }
}

/** The cost a provider reported for a call, when it reports one (OpenRouter does); else 0. */
export function reportedCostUsd(providerMetadata: unknown): number {
  const m = providerMetadata as Record<string, Record<string, any>> | undefined;
  const cost = m?.openrouter?.usage?.cost ?? m?.compatible?.cost ?? m?.openai?.cost;
  return typeof cost === "number" && Number.isFinite(cost) ? cost : 0;
}
