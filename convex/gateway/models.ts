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
import { createOpenAICompatible, type MetadataExtractor } from "@ai-sdk/openai-compatible";
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
      return createOpenAICompatible({ name: "openai", metadataExtractor: costExtractor("openai"), baseURL: env.OPENAI_BASE_URL ?? "https://api.openai.com/v1", apiKey: key("OPENAI_API_KEY"), includeUsage: true }).chatModel(id);
    case "openrouter":
      return createOpenAICompatible({ name: "openrouter", metadataExtractor: costExtractor("openrouter"), baseURL: "https://openrouter.ai/api/v1", apiKey: key("OPENROUTER_API_KEY"), includeUsage: true }).chatModel(id);
    case "anthropic":
      return createAnthropic({ apiKey: key("ANTHROPIC_API_KEY"), ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}) })(id);
    case "compatible": {
      const baseURL = env.LAKITU_COMPATIBLE_BASE_URL;
      if (!baseURL) throw new ModelConfigError(`model "${spec}" needs LAKITU_COMPATIBLE_BASE_URL in the component's environment`);
      return createOpenAICompatible({ name: "compatible", metadataExtractor: costExtractor("compatible"), baseURL, apiKey: env.LAKITU_COMPATIBLE_API_KEY, includeUsage: true }).chatModel(id);
    }
    default:
      throw new ModelConfigError(`model provider "${vendor}" is unknown; use scripted, openai/, openrouter/, anthropic/ or compatible/`);
  }
}

/** Reads the cost an OpenAI-compatible server reports in `usage.cost` (OpenRouter does) into provider metadata. */
function costExtractor(name: string): MetadataExtractor {
  const pick = (body: unknown) => {
    const cost = (body as { usage?: { cost?: unknown } } | undefined)?.usage?.cost;
    return typeof cost === "number" ? cost : undefined;
  };
  return {
    extractMetadata: async ({ parsedBody }) => {
      const cost = pick(parsedBody);
      return cost === undefined ? undefined : { [name]: { cost } };
    },
    createStreamExtractor: () => {
      let cost: number | undefined;
      return {
        processChunk: (chunk) => {
          cost = pick(chunk) ?? cost;
        },
        buildMetadata: () => (cost === undefined ? undefined : { [name]: { cost } }),
      };
    },
  };
}

/** The cost a provider reported for a call, when it reports one (OpenRouter does); else undefined. */
export function reportedCostUsd(providerMetadata: unknown): number | undefined {
  const m = providerMetadata as Record<string, Record<string, any>> | undefined;
  for (const vendor of ["openrouter", "compatible", "openai"]) {
    const cost = m?.[vendor]?.cost ?? m?.[vendor]?.usage?.cost;
    if (typeof cost === "number" && Number.isFinite(cost) && cost >= 0) return cost;
  }
  return undefined;
}
