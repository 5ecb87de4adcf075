/** The embedded backend: one SQLite file (WAL) behind every store interface. */
import type { Store } from '../interface.js';
import { SqliteBudgets } from './budgets.js';
import { SqliteCatalog } from './catalog.js';
import { openDatabase } from './db.js';
import { SqliteLedger } from './ledger.js';
import { SqliteUsers } from './users.js';
import { SqlTraffic } from '../traffic.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  userCacheSize: number;
  /** How far back per-user history matters (longest cap window or token TTL). */
  historyMs: () => number;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const { db, sqlite } = openDatabase(options.path);
  const budgets = new SqliteBudgets(db);
  const users = new SqliteUsers(db, budgets, options.userCacheSize, options.historyMs);
  return {
    catalog: new SqliteCatalog(db),
    users,
    budgets,
    ledger: new SqliteLedger(db, users, budgets),
    traffic: new SqlTraffic(db),
    async prune(now) {
      const pruned = users.prune(now);
      // Old WAL frames still hold pruned and erased rows; a truncating checkpoint drops them from disk.
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      return pruned;
    },
    async close() {
      if (sqlite.open) sqlite.close();
    },
  };
}
