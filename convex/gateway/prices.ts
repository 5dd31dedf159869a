/**
 * What a model turn costs. A provider that reports the cost of a call (OpenRouter does) is believed;
 * otherwise the cost is tokens × the model's price from this table, which apps override or extend
 * with `configure({ prices: [...] })`. A model with no price is never assumed free: a stage with
 * `maxCostUsd` refuses to run it.
 *
 * Prices are USD per million tokens, each with where it was read and when.
 */
import { fail } from "../shared/errors.js";
import type { ModelPrice } from "../shared/validators.js";

export type Price = Required<Pick<ModelPrice, "inputUsdPerMTok" | "outputUsdPerMTok" | "source" | "date">> & {
  model: string;
  cachedInputUsdPerMTok?: number;
};

const OPENAI = "https://openai.com/api/pricing/ (list price at launch)";
const ANTHROPIC = "https://www.anthropic.com/pricing#api (list price at launch)";
const OPENROUTER = "https://openrouter.ai/models (pass-through of the vendor's list price)";

/** The table that ships with Lakitu. */
export const PRICE_TABLE: readonly Price[] = [
  { model: "scripted", inputUsdPerMTok: 0, outputUsdPerMTok: 0, source: "Lakitu's offline scripted model runs in the deployment and costs nothing", date: "2026-11-30" },
  { model: "openai/gpt-5", inputUsdPerMTok: 1.25, cachedInputUsdPerMTok: 0.125, outputUsdPerMTok: 10, source: OPENAI, date: "2025-08-07" },
  { model: "openai/gpt-5-mini", inputUsdPerMTok: 0.25, cachedInputUsdPerMTok: 0.025, outputUsdPerMTok: 2, source: OPENAI, date: "2025-08-07" },
  { model: "openai/gpt-5-nano", inputUsdPerMTok: 0.05, cachedInputUsdPerMTok: 0.005, outputUsdPerMTok: 0.4, source: OPENAI, date: "2025-08-07" },
  { model: "openai/gpt-4.1", inputUsdPerMTok: 2, cachedInputUsdPerMTok: 0.5, outputUsdPerMTok: 8, source: OPENAI, date: "2025-04-14" },
  { model: "openai/gpt-4.1-mini", inputUsdPerMTok: 0.4, cachedInputUsdPerMTok: 0.1, outputUsdPerMTok: 1.6, source: OPENAI, date: "2025-04-14" },
  { model: "anthropic/claude-sonnet-4-5", inputUsdPerMTok: 3, cachedInputUsdPerMTok: 0.3, outputUsdPerMTok: 15, source: ANTHROPIC, date: "2025-09-29" },
  { model: "anthropic/claude-haiku-4-5", inputUsdPerMTok: 1, cachedInputUsdPerMTok: 0.1, outputUsdPerMTok: 5, source: ANTHROPIC, date: "2025-10-15" },
  { model: "anthropic/claude-opus-4-1", inputUsdPerMTok: 15, cachedInputUsdPerMTok: 1.5, outputUsdPerMTok: 75, source: ANTHROPIC, date: "2025-08-05" },
  { model: "openrouter/anthropic/claude-sonnet-4.5", inputUsdPerMTok: 3, cachedInputUsdPerMTok: 0.3, outputUsdPerMTok: 15, source: OPENROUTER, date: "2025-09-29" },
  { model: "openrouter/openai/gpt-5-mini", inputUsdPerMTok: 0.25, cachedInputUsdPerMTok: 0.025, outputUsdPerMTok: 2, source: OPENROUTER, date: "2025-08-07" },
];

/** Hard bounds on what configure accepts. */
export const MAX_PRICES = 500;
const MAX_USD_PER_MTOK = 10_000;

/**
 * The price of `model`: the app's entry, else the shipped one. A dated model id
 * (`anthropic/claude-sonnet-4-5-20250929`) falls back to its undated alias.
 */
export function priceOf(model: string | undefined, appPrices: readonly ModelPrice[] | undefined): Price | undefined {
  const name = (model ?? "scripted").trim();
  const find = (m: string) => (appPrices?.find((p) => p.model === m) as Price | undefined) ?? PRICE_TABLE.find((p) => p.model === m);
  return find(name) ?? (/-\d{8}$/.test(name) ? find(name.replace(/-\d{8}$/, "")) : undefined);
}

export type TurnTokens = { inputTokens: number; cachedInputTokens: number; outputTokens: number };

/** Tokens × price. Cached input tokens are part of `inputTokens` and priced at the cached rate when one is given. */
export function costFromPrice(t: TurnTokens, p: Price): number {
  const cached = Math.min(t.cachedInputTokens, t.inputTokens);
  const cachedRate = p.cachedInputUsdPerMTok ?? p.inputUsdPerMTok;
  return ((t.inputTokens - cached) * p.inputUsdPerMTok + cached * cachedRate + t.outputTokens * p.outputUsdPerMTok) / 1_000_000;
}

/** What a turn may cost at most: every input token uncached, and the whole output allowance used. */
export function worstCaseUsd(inputTokens: number, maxOutputTokens: number, p: Price): number {
  return (inputTokens * p.inputUsdPerMTok + maxOutputTokens * p.outputUsdPerMTok) / 1_000_000;
}

/** Refuses a bad price list with an error naming the entry and field, what was wrong and what is allowed. */
export function checkPrices(prices: readonly ModelPrice[]): void {
  if (prices.length > MAX_PRICES) fail("invalid_argument", `prices: at most ${MAX_PRICES} entries, got ${prices.length}`);
  const seen = new Set<string>();
  prices.forEach((p, i) => {
    const at = `prices[${i}]`;
    if (typeof p.model !== "string" || !p.model.trim() || p.model.length > 200) {
      fail("invalid_argument", `${at}.model: a model string such as "openai/gpt-5-mini" is required (1-200 characters)`);
    }
    if (seen.has(p.model)) fail("invalid_argument", `${at}.model: "${p.model}" is listed twice; give each model one price`);
    seen.add(p.model);
    const usd = (field: "inputUsdPerMTok" | "outputUsdPerMTok" | "cachedInputUsdPerMTok", required: boolean) => {
      const value = p[field];
      if (value === undefined) {
        if (required) fail("invalid_argument", `${at}.${field} (${p.model}): missing; give the price in USD per million tokens, e.g. 0.25`);
        return;
      }
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_USD_PER_MTOK) {
        fail("invalid_argument", `${at}.${field} (${p.model}): must be a number of USD per million tokens from 0 to ${MAX_USD_PER_MTOK}, got ${String(value)}`);
      }
    };
    usd("inputUsdPerMTok", true);
    usd("outputUsdPerMTok", true);
    usd("cachedInputUsdPerMTok", false);
    if (typeof p.source !== "string" || !p.source.trim() || p.source.length > 500) {
      fail("invalid_argument", `${at}.source (${p.model}): say where the price comes from (a URL or "contract"), 1-500 characters`);
    }
    if (typeof p.date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(p.date) || Number.isNaN(Date.parse(p.date))) {
      fail("invalid_argument", `${at}.date (${p.model}): the day the price was read, as YYYY-MM-DD, got ${JSON.stringify(p.date)}`);
    }
  });
}
