/** The embedded backend: one SQLite file (WAL) behind every store interface. */
import type { Store } from '../interface.js';
import { SqliteBudgets } from './budgets.js';
import { SqlCatalog } from '../catalog.js';
import { atomicTransaction, openDatabase } from './db.js';
import { SqliteLedger } from './ledger.js';
import { SqliteUsers } from './users.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  userCacheSize: number;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const { db, sqlite } = openDatabase(options.path);
  const budgets = new SqliteBudgets(db);
  const users = new SqliteUsers(db, budgets, options.userCacheSize);
  const catalog = new SqlCatalog(db, atomicTransaction(db));
  return {
    catalog,
    users,
    budgets,
    ledger: new SqliteLedger(db, users, budgets, catalog),
    async prune(now, historyMs) {
      const pruned = users.prune(now, historyMs);
      // Old WAL frames still hold pruned and erased rows; a truncating checkpoint drops them from disk.
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      return pruned;
    },
    async close() {
      if (sqlite.open) sqlite.close();
    },
  };
}
