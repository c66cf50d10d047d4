// The Anthropic client. The SDK reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself, and retries
// 429, 5xx and 529 (overloaded) with backoff, honouring the server's retry-after headers.
import Anthropic from '@anthropic-ai/sdk';

export function createModelClient(options: { maxRetries?: number } = {}): Anthropic {
  return new Anthropic({ maxRetries: options.maxRetries ?? 6, timeout: 10 * 60 * 1000 });
}
