// Waiting for an event in tests, by polling: no test waits for an idle machine.

/**
 * Polls until `check` returns a truthy value (jobs run on the queue, asynchronously). The limit is a
 * backstop for a test that is broken, not a measure of speed: a busy machine may be many times slower.
 */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 120_000, everyMs = 50): Promise<Exclude<T, false | null | undefined | '' | 0>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as Exclude<T, false | null | undefined | '' | 0>;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
