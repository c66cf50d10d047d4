// Turns per key within this process: a job of one repository on its cache, one setup of a mission's
// dependency state. Written by hand: a promise chain per key is all it takes.

export class KeyedLock<K> {
  readonly #tails = new Map<K, Promise<unknown>>();

  /** Runs `fn` once every earlier holder of `key` is done (whether it succeeded or not). */
  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const next = (this.#tails.get(key) ?? Promise.resolve()).catch(() => {}).then(fn);
    this.#tails.set(key, next);
    try {
      return await next;
    } finally {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    }
  }

  /** Whether someone holds or waits for `key`. */
  held(key: K): boolean {
    return this.#tails.has(key);
  }
}
