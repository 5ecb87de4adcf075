/** Serialises async work per key (one user's read-decide-reserve), without blocking other keys. */
export class KeyedLock {
  private tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      // Only the last waiter for a key removes it, so the map stays small.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
