/** The embedded backend: one SQLite file (WAL) behind every store interface. */
import type { Store } from '../interface.js';
import { SqliteBudgets } from './budgets.js';
import { SqlCatalog } from '../catalog.js';
import { atomicTransaction, openDatabase } from './db.js';
import { SqliteLedger } from './ledger.js';
import { SqliteUsers } from './users.js';
import { WalSync } from './wal-sync.js';
import { Checkpointer } from './checkpointer.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  userCacheSize: number;
  /** Syncs the WAL off the event loop [one for `path`]. */
  walSync?: WalSync;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const { db, sqlite } = openDatabase(options.path);
  const walSync = options.walSync ?? new WalSync(options.path);
  const checkpointer = options.path === ':memory:' ? undefined : new Checkpointer(sqlite, options.path);
  const budgets = new SqliteBudgets(db);
  const users = new SqliteUsers(db, budgets, options.userCacheSize, walSync);
  const catalog = new SqlCatalog(db, atomicTransaction(db));
  return {
    catalog,
    users,
    budgets,
    ledger: new SqliteLedger(db, users, budgets, catalog, walSync),
    async prune(now, historyMs) {
      const pruned = users.prune(now, historyMs);
      // Old WAL frames still hold pruned and erased rows; a truncating checkpoint drops them from disk.
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      return pruned;
    },
    async close() {
      await checkpointer?.close();
      if (sqlite.open) sqlite.close();
      walSync.close();
    },
  };
}
