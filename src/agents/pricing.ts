// USD per million tokens, by model family. An estimate for the maintainer's budget, not an invoice:
// cache writes cost 1.25x input, cache reads 0.1x input (Anthropic's 5-minute cache pricing).
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

const PER_MILLION: { family: RegExp; input: number; output: number }[] = [
  { family: /opus|mythos/, input: 5, output: 25 },
  { family: /sonnet|fable/, input: 3, output: 15 },
  { family: /haiku/, input: 1, output: 5 },
];
// Unknown names are priced like the most expensive family, so a budget errs on the safe side.
const FALLBACK = PER_MILLION[0]!;

export function estimateUsd(model: string, usage: TokenUsage): number {
  const price = PER_MILLION.find((p) => p.family.test(model)) ?? FALLBACK;
  const usd =
    usage.input_tokens * price.input +
    usage.cache_write_tokens * price.input * 1.25 +
    usage.cache_read_tokens * price.input * 0.1 +
    usage.output_tokens * price.output;
  return usd / 1_000_000;
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
  };
}

export const NO_USAGE: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 };
