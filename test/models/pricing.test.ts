// What a mission's tokens cost, from the list price of the model that spent them (src/agents/pricing.ts).
import { describe, expect, it } from 'vitest';
import { estimateUsd, priceOf } from '../../src/agents/pricing.ts';

const million = (kind: 'input_tokens' | 'output_tokens' | 'cache_read_tokens' | 'cache_write_tokens') => ({
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  [kind]: 1_000_000,
});

describe('prices', () => {
  it('prices each token kind at its model’s list price, dated ids like their family', () => {
    expect(estimateUsd('claude-opus-5-5', million('input_tokens'))).toBe(4);
    expect(estimateUsd('claude-opus-5-5', million('output_tokens'))).toBe(20);
    expect(estimateUsd('claude-opus-5-5', million('cache_write_tokens'))).toBe(5);
    expect(estimateUsd('claude-opus-5-5', million('cache_read_tokens'))).toBe(0.2);
    // A 1-hour cache write costs twice the input price, not the 5-minute 1.25x.
    expect(estimateUsd('claude-opus-5-5', { ...million('cache_write_tokens'), cache_write_1h_tokens: 1_000_000 })).toBe(8);
    expect(estimateUsd('claude-sonnet-5-5', { ...million('cache_write_tokens'), cache_write_1h_tokens: 250_000 })).toBe(2.5 * 0.75 + 4 * 0.25);
    expect(estimateUsd('claude-sonnet-5-5-20261001', million('output_tokens'))).toBe(10);
    expect(estimateUsd('claude-fable-5-1', million('output_tokens'))).toBe(50);
  });

  it('tells Opus 4.5 from Opus 4 and 4.1, which cost three times as much', () => {
    expect(priceOf('claude-opus-4-5-20251101').output).toBe(25);
    expect(priceOf('claude-opus-4-1-20250805').output).toBe(75);
    expect(priceOf('claude-opus-4-20250514').output).toBe(75);
    expect(priceOf('claude-opus-4-6').output).toBe(25);
  });

  it('prices an unknown model as the most expensive known one, so a budget errs on the safe side', () => {
    expect(priceOf('claude-next-9')).toEqual(priceOf('claude-opus-4-1'));
    expect(priceOf('claude-opus-5-50')).toEqual(priceOf('claude-opus-4-1'));
  });
});
