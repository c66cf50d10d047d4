// REDIS_URL is Probot's: its Octokit throttling then keeps one schedule for every process (writes a
// second apart, three for comments, issues and pull requests; the rate limit's retries) in that
// Redis. Without an answer from it every GitHub call fails (after ioredis's retries), so it is
// checked at start, like DATABASE_URL, and by every readiness probe.
import { Redis } from 'ioredis';

/**
 * Null when the Redis at `url` answers PING within `timeoutMs`, else why not (the first cause, not
 * ioredis's "Connection is closed"). A Redis that takes the connection and never replies is cut off
 * at the deadline (ioredis's own timeouts leave its ready check waiting).
 */
export async function redisProblem(url: string, timeoutMs = 5_000): Promise<string | null> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let cause: Error | undefined;
  client.on('error', (error: Error) => (cause ??= error));
  const deadline = setTimeout(() => {
    cause ??= new Error(`no answer within ${timeoutMs / 1000} s`);
    client.disconnect();
  }, timeoutMs);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return String((cause ?? (error as Error)).message ?? error).replace(/\.+$/, '');
  } finally {
    clearTimeout(deadline);
    client.disconnect();
  }
}
