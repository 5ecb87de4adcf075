/**
 * Group commit: work that arrives while a commit is being fsynced shares the next
 * transaction, and each caller resolves only once its own rows are durable. One bad
 * item must not fail its neighbours: if the shared commit fails, each item is
 * committed again on its own.
 */
export class GroupCommit<Item, Result> {
  private pending: { item: Item; resolve: (result: Result) => void; reject: (err: unknown) => void }[] = [];

  /**
   * `commit` writes the items in one transaction and returns one result per item, or throws;
   * `observe` hears how long each shared commit took and how many items it carried (metrics).
   */
  constructor(
    private commit: (items: Item[]) => Result[],
    private observe?: (seconds: number, groupSize: number) => void,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const group = this.pending;
    this.pending = [];
    let results: Result[];
    try {
      const started = performance.now();
      results = this.commit(group.map((g) => g.item));
      this.observe?.((performance.now() - started) / 1000, group.length);
    } catch {
      for (const g of group) {
        try {
          g.resolve(this.commit([g.item])[0]);
        } catch (err) {
          g.reject(err);
        }
      }
      return;
    }
    group.forEach((g, i) => g.resolve(results[i]));
  }
}
