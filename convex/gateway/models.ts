/**
 * Model strings to AI SDK models. Keys are read from the component's environment here, in the
 * component; they never reach a sandbox.
 *
 * | model string                    | provider                                        | key                         |
 * |---------------------------------|-------------------------------------------------|-----------------------------|
 * | `scripted` (default)            | the offline scripted model                      | —                           |
 * | `scripted/hostile`              | the scripted model attacking its sandbox (tests) | —                           |
 * | `openai/<model>`                | OpenAI chat completions (`OPENAI_BASE_URL`)     | `OPENAI_API_KEY`            |
 * | `openrouter/<vendor>/<model>`   | OpenRouter (OpenAI-compatible)                  | `OPENROUTER_API_KEY`        |
 * | `anthropic/<model>`             | Anthropic messages API (`ANTHROPIC_BASE_URL`)   | `ANTHROPIC_API_KEY`         |
 * | `compatible/<model>`            | any OpenAI-compatible server at `LAKITU_COMPATIBLE_BASE_URL` | `LAKITU_COMPATIBLE_API_KEY` (optional) |
 */
import { APICallError, type LanguageModelV4 } from "@ai-sdk/provider";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible, type MetadataExtractor } from "@ai-sdk/openai-compatible";
import { scriptedModel } from "./scripted.js";

export type Env = Record<string, string | undefined>;

export class ModelConfigError extends Error {}

/** Names of the environment variables holding model keys: redacted wherever they could leak. */
export { MODEL_KEY_VARS } from "../shared/redact.js";

export function resolveModel(model: string | undefined, env: Env): LanguageModelV4 {
  const spec = (model ?? "scripted").trim();
  if (spec === "scripted") return scriptedModel();
  if (spec === "scripted/hostile") return scriptedModel("hostile");
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

/** A model or provider error as Lakitu passes it on: never the provider's body verbatim. */
export type ModelErrorSummary = { status?: number; code?: string; message: string; retryable: boolean };

/** Provider messages are cut to this many characters (after scrubbing). */
export const MAX_MODEL_ERROR_CHARS = 300;

function providerCode(e: { data?: unknown; responseBody?: string }): string | undefined {
  let data = e.data;
  if (data === undefined && typeof e.responseBody === "string") {
    try {
      data = JSON.parse(e.responseBody);
    } catch {
      data = undefined;
    }
  }
  // OpenAI-style { error: { code, type } }; Anthropic-style { type: "error", error: { type } }.
  const err = (data as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
  const code = err?.code ?? err?.type;
  return typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

/**
 * Status, provider error code and a scrubbed, shortened message of a failed model call. `scrub`
 * removes the secrets the caller knows (the model keys among them). A retry wrapper's last error is
 * the one summarised.
 */
export function summarizeModelError(e: unknown, scrub: (text: string) => string): ModelErrorSummary {
  const last = (e as { lastError?: unknown } | null)?.lastError;
  const err = (last ?? e) as { statusCode?: unknown; isRetryable?: unknown; message?: unknown; data?: unknown; responseBody?: string } | null;
  // Already summarised by scrubbedModel: summarise once, not twice.
  const done = (err?.data as { lakitu?: ModelErrorSummary } | undefined)?.lakitu;
  if (done && typeof done.message === "string") return done;
  const status = typeof err?.statusCode === "number" ? err.statusCode : undefined;
  const code = err ? providerCode(err) : undefined;
  const raw = typeof err?.message === "string" ? err.message : String(e);
  const flat = scrub(raw).replace(/\s+/g, " ").trim() || "no message";
  const message = flat.length > MAX_MODEL_ERROR_CHARS ? `${flat.slice(0, MAX_MODEL_ERROR_CHARS)}…` : flat;
  const retryable = (err?.isRetryable ?? (e as { isRetryable?: unknown } | null)?.isRetryable) !== false;
  return { ...(status === undefined ? {} : { status }), ...(code === undefined ? {} : { code }), message, retryable };
}

/** One line for events, run errors and the sandbox: `HTTP 401 (invalid_api_key): Incorrect API key …`. */
export function modelErrorText(s: ModelErrorSummary): string {
  const head = [s.status === undefined ? "" : `HTTP ${s.status}`, s.code === undefined ? "" : `(${s.code})`].filter(Boolean).join(" ");
  return head ? `${head}: ${s.message}` : s.message;
}

/**
 * The model with its errors replaced by summaries before anything else sees them: the AI SDK's retry
 * still works (a scrubbed APICallError keeps status and retryability), and the agent component, which
 * stores the error of a failed turn in the transcript, only ever gets the summary.
 */
export function scrubbedModel(model: LanguageModelV4, scrub: (text: string) => string): LanguageModelV4 {
  const rethrow = (e: unknown): never => {
    const s = summarizeModelError(e, scrub);
    throw new APICallError({
      message: modelErrorText(s),
      url: "(model provider)",
      requestBodyValues: undefined,
      ...(s.status === undefined ? {} : { statusCode: s.status }),
      isRetryable: s.retryable,
      data: { lakitu: s },
    });
  };
  return {
    specificationVersion: model.specificationVersion,
    provider: model.provider,
    modelId: model.modelId,
    get supportedUrls() {
      return model.supportedUrls;
    },
    doGenerate: async (options) => {
      try {
        return await model.doGenerate(options);
      } catch (e) {
        return rethrow(e);
      }
    },
    doStream: async (options) => {
      try {
        return await model.doStream(options);
      } catch (e) {
        return rethrow(e);
      }
    },
  };
}
