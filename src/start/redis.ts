// REDIS_URL is Probot's: its Octokit throttling then keeps one schedule for every process (writes a
// second apart, the rate limit's retries) in that Redis. A Redis that does not answer would hold
// every GitHub call, so it is checked once at start, like DATABASE_URL.
import { Redis } from 'ioredis';

/** Null when the Redis at `url` answers PING within a few seconds, else why not. */
export async function redisProblem(url: string): Promise<string | null> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // Without a listener, a failed connection is also reported as an unhandled 'error' event.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return String((error as Error).message ?? error);
  } finally {
    client.disconnect();
  }
}
