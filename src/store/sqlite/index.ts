/** The embedded backend: one SQLite file (WAL) behind every store interface. */
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { StoreMetrics } from '../../ops/metrics.js';
import { SqlCatalog } from '../catalog.js';
import type { Store } from '../interface.js';
import { SqliteBudgets } from './budgets.js';
import { Checkpointer } from './checkpointer.js';
import { atomicTransaction, lockDatabase, migrationsFolder, openDatabase, type WalTruncation, walTruncation } from './db.js';
import { SqliteLedger } from './ledger.js';
import { SqliteTraffic } from './traffic.js';
import { SqliteUsers } from './users.js';
import { WalSync } from './wal-sync.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  userCacheSize: number;
  /** Bytes of the file read through a memory map [SQLITE_MMAP_MB's default, 1 GiB]; 0: none (SQLITE_MMAP_MB). */
  mmapBytes?: number;
  /** Commit, budget-hold and cache hooks [none]. */
  metrics?: StoreMetrics;
  /** Syncs the WAL off the event loop [one for `path`]. */
  walSync?: WalSync;
  /** Bytes a checkpoint may leave in the WAL before the commits are held for its restart [32 MiB] (WAL_RESTART_MB). */
  walRestartBytes?: number;
}

/** The SQLite store: every store interface, and what the Node server and tests use of the file beyond them. */
export type SqliteStore = Store & {
  userCacheSize(): number;
  /** Reads the live budget holds back from the stored reservations (`SqliteBudgets.loadHolds`); how many. */
  loadHolds(now: number): number;
  /** Empties the WAL, on the checkpointer's thread (erasure and `prune` do; tests). */
  truncateWal: WalTruncation;
  /** The WAL's checkpointer (none for ':memory:'); `health()` fails once it is not `alive`. */
  checkpointer: Checkpointer | undefined;
  /**
   * Ends the store as a killed process ends (tests of a crash, in one process): the connection and the file's lock
   * close at once, nothing held in memory (report rows, the user index's entries) is written, and the checkpointer's
   * worker and the last WAL sync end in the background: the promise says when (before the folder goes). `close()`
   * after it does nothing more.
   */
  abandon(): Promise<void>;
};

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  // Before anything reads or migrates the file: one serving process per database file (lockDatabase).
  const unlock = options.path === ':memory:' ? () => {} : lockDatabase(options.path);
  let opened: ReturnType<typeof openDatabase>;
  try {
    opened = openDatabase(options.path, { mmapBytes: options.mmapBytes });
  } catch (err) {
    unlock();
    throw err;
  }
  // A part that throws once the file is open (a damaged file: a table missing) must not keep it: what was started
  // closes, the connection and the file's lock with it, so a next store in this process can take the file.
  const started: { walSync?: WalSync; checkpointer?: Checkpointer } = {};
  try {
    return storeOn(options, opened, unlock, started);
  } catch (err) {
    started.checkpointer?.close().catch(() => undefined);
    started.walSync?.close();
    opened.sqlite.close();
    unlock();
    throw err;
  }
}

/** The store over the open file (`createSqliteStore`), noting in `started` what it starts that must be stopped. */
function storeOn(
  options: SqliteStoreOptions,
  { db, sqlite }: ReturnType<typeof openDatabase>,
  unlock: () => void,
  started: { walSync?: WalSync; checkpointer?: Checkpointer },
): SqliteStore {
  const metrics = options.metrics;
  const walSync = options.walSync ?? new WalSync(options.path, sqlite);
  started.walSync = walSync;
  const checkpointer =
    options.path === ':memory:'
      ? undefined
      : new Checkpointer(sqlite, options.path, walSync, { restartBytes: options.walRestartBytes, metrics });
  started.checkpointer = checkpointer;
  const truncateWal = walTruncation(sqlite, checkpointer);
  const budgets = new SqliteBudgets(db, metrics);
  const users = new SqliteUsers(db, budgets, options.userCacheSize, walSync, truncateWal, metrics);
  const latestMigration = Math.max(0, ...readMigrationFiles({ migrationsFolder }).map((m) => m.folderMillis));
  const catalog = new SqlCatalog(db, atomicTransaction(db));
  const ledger = new SqliteLedger(db, users, budgets, catalog, walSync, metrics);
  // Report rows are counted from events (and their reservations) after a crash: write them before those go.
  const erase = users.erase.bind(users);
  users.erase = async (uid) => {
    ledger.writePending();
    await erase(uid);
  };
  return {
    catalog,
    users,
    budgets,
    ledger,
    traffic: new SqliteTraffic(db, walSync),
    async prune(now, historyMs) {
      ledger.writePending();
      const pruned = await users.prune(now, historyMs);
      budgets.sweep(now);
      // Old WAL frames still hold pruned and erased rows; a truncating checkpoint (on the checkpointer's thread) drops
      // them from disk.
      await truncateWal();
      return pruned;
    },
    async health() {
      let writable = false;
      try {
        // Taking the write lock proves the file (and its WAL) can be written right now; nothing is changed.
        sqlite.exec('BEGIN IMMEDIATE');
        sqlite.exec('ROLLBACK');
        // A checkpointer worker that died leaves the serving thread checkpointing (checkpointer.ts): reported here.
        writable = !sqlite.readonly && checkpointer?.alive !== false;
      } catch {
        if (sqlite.open && sqlite.inTransaction) sqlite.exec('ROLLBACK');
      }
      const applied = sqlite.prepare('SELECT max(created_at) AS at FROM __drizzle_migrations').get() as
        | { at: number | null }
        | undefined;
      return { writable, migrated: Number(applied?.at ?? -1) >= latestMigration };
    },
    userCacheSize: () => users.cache.size,
    loadHolds: (now) => budgets.loadHolds(now),
    truncateWal,
    checkpointer,
    abandon() {
      const ended = Promise.all([checkpointer?.close(), walSync.drain().then(() => walSync.close())]);
      if (sqlite.open) sqlite.close();
      unlock();
      return ended.then(() => {});
    },
    async close() {
      // First the checkpointer, which lets held group commits through; a turn of the loop for them to commit and
      // start their WAL syncs, which the drain then waits for, before the connection and the file close.
      await checkpointer?.close();
      await new Promise((resolve) => setImmediate(resolve));
      if (sqlite.open) {
        ledger.writePending();
        users.writeIndex();
      }
      await walSync.drain();
      if (sqlite.open) sqlite.close();
      walSync.close();
      unlock();
    },
  };
}
