// USD per million tokens, per model, from Anthropic's list prices. An estimate for the maintainer's
// budget, not an invoice. Cache writes cost 1.25x input for the 5-minute cache and 2x for the
// 1-hour one; cache reads have their own price per model, not a fixed share of input.
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** Of cache_write_tokens, those written to the 1-hour cache (priced at 2x input, not cacheWrite). */
  cache_write_1h_tokens?: number;
}

export interface Price {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

/**
 * List prices, USD per million tokens, as of 2026-11-30. Source: Anthropic's pricing page, as given
 * in issue 10 for the 5.x models (Fable 5.1's cache prices were not listed: its cache is priced at
 * the usual 1.25x input to write and 0.1x to read). A model id matches its entry by prefix, so dated
 * ids (`claude-sonnet-5-5-20261001`) are priced like their family.
 */
export const PRICES: { model: string; price: Price }[] = [
  { model: 'claude-fable-5-1', price: { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 1 } },
  { model: 'claude-opus-5-5', price: { input: 4, output: 20, cacheWrite: 5, cacheRead: 0.2 } },
  { model: 'claude-sonnet-5-5', price: { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 } },
  // The 4.x family, from the same page: Opus 4.5 dropped to a third of Opus 4 and 4.1. The more
  // specific prefix comes first, since the first match wins.
  { model: 'claude-opus-4-5', price: { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 } },
  // Later 4.x Opus ids the SDK knows, priced as Opus 4.5 (assumed: their prices were not given to us).
  { model: 'claude-opus-4-6', price: { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 } },
  { model: 'claude-opus-4-7', price: { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 } },
  { model: 'claude-opus-4-8', price: { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 } },
  { model: 'claude-opus-4-1', price: { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 } },
  { model: 'claude-opus-4', price: { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 } },
  { model: 'claude-sonnet-4', price: { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 } },
  { model: 'claude-haiku-4-5', price: { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 } },
  { model: 'claude-3-opus', price: { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 } },
];

/** An unknown model is priced as the most expensive known one, so a budget errs on the safe side. */
const MOST_EXPENSIVE = PRICES.reduce((a, b) => (b.price.output > a.price.output ? b : a)).price;

export function priceOf(model: string): Price {
  return PRICES.find((p) => model === p.model || model.startsWith(`${p.model}-`))?.price ?? MOST_EXPENSIVE;
}

export function estimateUsd(model: string, usage: TokenUsage): number {
  const price = priceOf(model);
  const longWrites = usage.cache_write_1h_tokens ?? 0;
  const usd =
    usage.input_tokens * price.input +
    (usage.cache_write_tokens - longWrites) * price.cacheWrite +
    longWrites * price.input * ONE_HOUR_WRITE +
    usage.cache_read_tokens * price.cacheRead +
    usage.output_tokens * price.output;
  return usd / 1_000_000;
}

/** A 1-hour cache write costs twice the input price (the 5-minute one 1.25x, in each Price). */
const ONE_HOUR_WRITE = 2;

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    cache_write_1h_tokens: (a.cache_write_1h_tokens ?? 0) + (b.cache_write_1h_tokens ?? 0),
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
  };
}

export const NO_USAGE: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 };
