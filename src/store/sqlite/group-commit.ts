/**
 * Group commit: work that arrives while a commit (or its sync) is under way shares
 * the next transaction. One bad item must not fail its neighbours: if the shared
 * commit fails, each item is committed again on its own.
 *
 * Durability (`WalSync`, see wal-sync.ts): the group's transaction commits without an
 * fsync on this thread; with `wait: 'sync'` each caller resolves only once a WAL sync that
 * began after its commit is done (events: acknowledged means on disk); with
 * `wait: 'commit'` callers resolve as soon as the commit is written (it survives a
 * process crash) and the sync follows in the background (reservations: SECURITY.md
 * bounds what a power loss can take). While the WAL is held (`WalSync.hold`, the checkpointer's
 * restart or truncation) the next group waits and grows; its callers are answered after it commits.
 */
import type { WalSync } from './wal-sync.js';

export interface Durability {
  wal: WalSync;
  wait: 'sync' | 'commit';
}

export class GroupCommit<Item, Result> {
  private pending: { item: Item; resolve: (result: Result) => void; reject: (err: unknown) => void }[] = [];

  /**
   * `commit` writes the items in one transaction and returns one result per item, or throws — only if the transaction
   * did not commit: a throw makes each item committed again on its own, so work after its commit must not throw;
   * `observe` hears how long each shared commit took and how many items it carried (metrics).
   */
  constructor(
    private commit: (items: Item[]) => Result[],
    private observe?: (seconds: number, groupSize: number) => void,
    private durability?: Durability,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const d = this.durability;
    // The checkpointer is catching up with the WAL or emptying it: this group commits once it is done.
    if (d?.wal.held) {
      d.wal.held.then(() => this.flush());
      return;
    }
    const group = this.pending;
    this.pending = [];
    const answers: (() => void)[] = [];
    const commit = (items: Item[]) => (d ? d.wal.unsynced(() => this.commit(items)) : this.commit(items));
    const started = performance.now();
    let shared = false;
    try {
      const results = commit(group.map((g) => g.item));
      shared = true;
      group.forEach((g, i) => answers.push(() => g.resolve(results[i])));
    } catch {
      for (const g of group) {
        try {
          const [result] = commit([g.item]);
          answers.push(() => g.resolve(result));
        } catch (err) {
          g.reject(err);
        }
      }
    }
    // Outside the try above: a throw from the metrics must not make committed items commit again.
    if (shared) {
      try {
        this.observe?.((performance.now() - started) / 1000, group.length);
      } catch (err) {
        console.error(`[store] group commit metrics failed: ${String(err)}`);
      }
    }
    if (answers.length === 0) return;
    if (!d) {
      for (const answer of answers) answer();
      return;
    }
    const synced = d.wal.sync();
    if (d.wait === 'commit') {
      for (const answer of answers) answer();
      synced.catch((err) => console.error(`[store] WAL sync failed: ${(err as Error).message}`));
      return;
    }
    synced.then(
      () => answers.forEach((answer) => answer()),
      (err) => group.forEach((g) => g.reject(err)),
    );
  }
}
