/**
 * Group commit: work that arrives while a commit is being fsynced shares the next
 * transaction, and each caller resolves only once its own rows are durable. One bad
 * item must not fail its neighbours: if the shared commit fails, each item is
 * committed again on its own.
 */
export class GroupCommit<Item, Result> {
  private pending: { item: Item; resolve: (result: Result) => void; reject: (err: unknown) => void }[] = [];

  /** `commit` writes the items in one transaction and returns one result per item, or throws. */
  constructor(private commit: (items: Item[]) => Result[]) {}

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
      results = this.commit(group.map((g) => g.item));
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
