/** Opens the SQLite file with the durability settings money and events need, migrates it, and runs atomic writes. */

import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readSettings, SettingsError } from '../../config.js';
import type { Atomic } from '../catalog.js';
import { reachUnion } from '../reach.js';

export type Db = BetterSQLite3Database;

export const migrationsFolder = fileURLToPath(new URL('../../../schema/migrations', import.meta.url));

export interface OpenOptions {
  /**
   * Bytes of the file read through a memory map [SQLITE_MMAP_MB's default]; 0: none (every read a read()). Address
   * space, not heap; the pages it touches are the OS page cache's, shared and reclaimable (they count in the RSS).
   */
  mmapBytes?: number;
}

export function openDatabase(path: string, options: OpenOptions = {}): { db: Db; sqlite: Database.Database } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a commit is fsynced before we acknowledge it, so acknowledged events and spend survive power loss.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  // Erasing a user must not leave their pseudonym readable in freed pages.
  sqlite.pragma('secure_delete = ON');
  sqlite.pragma('foreign_keys = OFF');
  // SQLite's own default page cache (2 MB) instead of better-sqlite3's 16 MB: every write transaction's end walks the
  // cache's whole hash table (pcache1TruncateUnsafe, ~7 % of the engine thread at 16 MB); reads go through the memory
  // map below, so the larger cache bought nothing measurable (bench/README, session 11, tok11).
  sqlite.pragma('cache_size = -2000');
  // Pages read through a memory map instead of a read() into SQLite's cache each: the event ledger's random
  // index lookups spend less system time (bench/README, session 8). Read-only: writes still go through the WAL.
  // The cost: an I/O error on a mapped page is a SIGBUS (the process dies unlogged), hence SQLITE_MMAP_MB=0.
  sqlite.pragma(`mmap_size = ${Math.trunc(options.mmapBytes ?? readSettings({}).sqliteMmapMb * 2 ** 20)}`);
  // Report rows and traffic cells merge a written sketch into the stored one in SQL (register maximum).
  sqlite.function('reach_union', { deterministic: true }, reachUnion);
  const db = drizzle({ client: sqlite });
  const applied = () =>
    sqlite.prepare(`SELECT count(*) FROM sqlite_master WHERE name = '__drizzle_migrations'`).pluck().get()
      ? (sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get() as number)
      : 0;
  const before = applied();
  migrate(db, { migrationsFolder });
  // A migration that rewrote a table left its pages in the WAL, where every read finds them (read(), not the memory
  // map) until a checkpoint restarts it: fold them into the file before serving.
  if (applied() !== before) sqlite.pragma('wal_checkpoint(TRUNCATE)');
  // `PRAGMA user_version` is reserved: the checkpointer sets it to itself to restart the WAL (checkpointer.ts).
  return { db, sqlite };
}

/**
 * The database file's lock could not be taken: another process serves from it, or the lock file cannot be opened.
 * One line at start (node.ts), also when the engine thread throws it: its name crosses the thread (engine-thread.ts).
 */
export class DatabaseLockError extends SettingsError {
  override name = 'DatabaseLockError';
}

/**
 * One serving process per database file: the store numbers reservations and keeps its user index in memory
 * (users.ts), so a second process on the same file would break both. Held on a side file, `path`-lock (empty: never
 * written), never on the database itself, which the checkpointer's worker and an online backup (`npm run backup`) open
 * alongside: a SQLite connection in exclusive locking mode keeps the POSIX lock of its first write transaction until it
 * closes, even when that transaction is rolled back. The kernel drops that lock when the process ends, even by
 * kill -9, so a crash leaves nothing to clean up; and SQLite tracks its locks across the connections of one process,
 * so a second store in this process (on any thread) is refused too. Returns the release (the store's close).
 */
export function lockDatabase(path: string): () => void {
  return holdServerLock(`${path}-lock`, {
    what: `DATABASE ${path}`,
    holder: 'server process',
    scope: 'database file',
    refused: (message) => new DatabaseLockError(message),
  });
}

/**
 * One server per folder or file: holds `lockPath` (holdFileLock) or throws `refused` with the operator's line, saying
 * whether another server holds it or the lock file cannot be used. Also `npm run start:worker`'s lock on its DATA_DIR.
 */
export function holdServerLock(
  lockPath: string,
  names: { what: string; holder: string; scope: string; refused: (message: string) => Error },
): () => void {
  try {
    return holdFileLock(lockPath);
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    throw names.refused(
      code?.startsWith('SQLITE_BUSY')
        ? `${names.what} is in use by another ${names.holder} (it holds ${lockPath}): one server per ${names.scope}; stop the other one first`
        : `${names.what}: its lock file ${lockPath} cannot be used (${code ?? message}); it holds no data: make it writable by this user, or remove it while no server runs`,
    );
  }
}

/**
 * Holds the exclusive lock on `lockPath` for this process's life (lockDatabase says how), or throws SQLite's error:
 * `SQLITE_BUSY` when another process holds it. Returns the release.
 */
export function holdFileLock(lockPath: string): () => void {
  let lock: Database.Database | undefined;
  try {
    // No wait: a running server holds it for its whole life.
    lock = new Database(lockPath, { timeout: 0 });
    lock.pragma('locking_mode = EXCLUSIVE');
    // The write below stays in memory: no journal file beside it.
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
    try {
      // A write, so that a file this process may not write fails here (SQLite opens it read-only, and a read-only
      // connection's exclusive transaction locks nothing); rolled back, so the file is never written.
      lock.pragma('user_version = 1');
    } finally {
      lock.exec('ROLLBACK');
    }
  } catch (err) {
    lock?.close();
    throw err;
  }
  const held = lock;
  return () => {
    if (held.open) held.close();
  };
}

/** Bytes of `path`'s write-ahead log file now (0 when there is none): the `ads_store_wal_bytes` gauge. */
export function walFileBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

/** One truncating checkpoint's outcome: the WAL emptied, another connection in the way, or an error (logged). */
export type TruncateOutcome = 'done' | 'busy' | 'failed';

/**
 * Folds the WAL into the database file and empties it, so deleted rows' old page images are gone; true once done.
 * A reader can make one attempt report busy and leave the WAL not emptied; tried again every 10 ms, `attempts`
 * times [100] (each a worker round trip and up to its 20 ms busy wait: ~3 s at most).
 */
export type WalTruncation = (attempts?: number) => Promise<boolean>;

/**
 * The store's `WalTruncation`: on its checkpointer worker when it has one (`Checkpointer.truncate`: the copy and the
 * file's truncation took 30–70 ms of the serving thread under load), else on `sqlite` itself.
 */
export function walTruncation(
  sqlite: Database.Database,
  checkpointer?: { truncate(attempts: number): Promise<TruncateOutcome> },
): WalTruncation {
  const truncate = checkpointer
    ? (n: number) => checkpointer.truncate(n)
    : (n: number) => retryTruncate(() => truncateHere(sqlite), n);
  return async (attempts = 100) => {
    const outcome = await truncate(attempts);
    if (outcome === 'busy') console.error('[store] the WAL could not be emptied: another connection kept it busy');
    if (outcome === 'failed') console.error('[store] the WAL could not be emptied: the truncating checkpoint failed');
    return outcome === 'done';
  };
}

/** `attempt` until it is not busy, 10 ms apart, at most `attempts` times. */
export async function retryTruncate(
  attempt: () => TruncateOutcome | Promise<TruncateOutcome>,
  attempts: number,
): Promise<TruncateOutcome> {
  for (let n = 1; ; n++) {
    const outcome = await attempt();
    if (outcome !== 'busy' || n >= attempts) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * One TRUNCATE checkpoint on `sqlite` itself; an error's message goes to `failed` [logged]: a checkpointer's
 * (its worker gone) counts and limits it as it does the worker's errors.
 */
export function truncateHere(
  sqlite: Database.Database,
  failed: (message: string) => void = (message) => console.error(`[store] WAL checkpoint failed: ${message}`),
): TruncateOutcome {
  try {
    const [result] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return !result || result.busy === 0 ? 'done' : 'busy';
  } catch (err) {
    failed((err as Error).message);
    return 'failed';
  }
}

/** `atomic` on better-sqlite3: the writes in one transaction; `returning()` writes give their rows. */
export function atomicTransaction(db: Db): Atomic {
  type Write = { all(): unknown; run(): unknown; config?: { returning?: unknown } };
  return (async (writes: readonly Write[]) =>
    db.transaction(() => writes.map((w) => (w.config?.returning ? w.all() : w.run())))) as unknown as Atomic;
}
