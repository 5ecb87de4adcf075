/** Serialises async work per key (one user's read-decide-reserve), without blocking other keys. */
export class KeyedLock {
  private tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    // A key nobody holds (the common case) starts at once, without a turn of the microtask queue.
    const current = previous ? previous.then(work, work) : start(work);
    const tail: Promise<void> = current.then(
      () => this.free(key, tail),
      () => this.free(key, tail),
    );
    this.tails.set(key, tail);
    return current;
  }

  /** Only the last waiter for a key removes it, so the map stays small. */
  private free(key: string, tail: Promise<void>): void {
    if (this.tails.get(key) === tail) this.tails.delete(key);
  }
}

/** Runs `work` now; a synchronous throw becomes its rejection, as it would inside `then`. */
function start<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (err) {
    return Promise.reject(err);
  }
}
