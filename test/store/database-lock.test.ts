/**
 * One store per database file at a time (`lockDatabase`, src/store/sqlite/db.ts), in one process: a second is
 * refused while the first is open; a close, a kill (`abandon`) or a failed open (also one that failed after the file
 * opened) lets the next one in.
 * Across processes: test/ops/one-server-per-file.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DatabaseLockError, lockDatabase } from '../../src/store/sqlite/db.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { sqliteFile } from '../helpers/sqlite-file.js';

describe('one store per database file', () => {
  const file = sqliteFile('database-lock-');
  const open = () => createSqliteStore({ path: file.path, userCacheSize: 10 });

  it('refuses a second store while the first is open, and takes one after a close or a kill', async () => {
    const first = open();
    expect(open).toThrow(DatabaseLockError);
    expect(open).toThrow(
      `DATABASE ${file.path} is in use by another server process (it holds ${file.path}-lock): one server per database file; stop the other one first`,
    );
    expect(await first.health?.()).toEqual({ writable: true, migrated: true });
    await first.close();
    const second = open();
    await second.abandon();
    const third = open();
    expect(await third.health?.()).toEqual({ writable: true, migrated: true });
    await third.close();
  });

  it('lets the next store in after one that failed once the file was open (a damaged file)', async () => {
    await open().close();
    // A table the store reads on start, gone: migrations count it as made, so the store's own reads fail.
    const damaged = new Database(file.path);
    damaged.exec('DROP TABLE reservations');
    damaged.close();
    expect(open).toThrow(/no such table: reservations/);
    // Neither the file's lock nor a connection stayed with the failed store: the next one fails the same way, not on
    // the lock, and the lock is free.
    expect(open).toThrow(/no such table: reservations/);
    lockDatabase(file.path)();
  });

  it('lets the next store in after an open that failed, and names a lock file it cannot use', async () => {
    writeFileSync(file.path, 'not a database, but long enough to be read as one: '.repeat(100));
    expect(open).toThrow(/not a database/);
    rmSync(file.path);
    await open().close();
    rmSync(`${file.path}-lock`);
    mkdirSync(`${file.path}-lock`);
    expect(open).toThrow(
      `DATABASE ${file.path}: its lock file ${file.path}-lock cannot be used (SQLITE_CANTOPEN); it holds no data`,
    );
  });

  // Root writes any file: then the process that opens it runs as nobody.
  const asNobody = process.getuid?.() === 0 ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  it.skipIf(asNobody.length > 0 && !existsSync(asNobody[0]))(
    'refuses a lock file this user may not write (SQLite would open it read-only, locking nothing)',
    () => {
      // As a server run as another user leaves it.
      chmodSync(dirname(file.path), 0o755);
      writeFileSync(`${file.path}-lock`, '');
      chmodSync(`${file.path}-lock`, 0o444);
      const script = `import { lockDatabase } from './src/store/sqlite/db.ts';
        try { lockDatabase(${JSON.stringify(file.path)}); console.log('locked'); } catch (err) { console.log(err.message); }`;
      const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
      const [command, ...args] = [...asNobody, ...node];
      const out = execFileSync(command, args, { cwd: resolve(import.meta.dirname, '../..'), encoding: 'utf8' });
      expect(out.trim()).toBe(
        `DATABASE ${file.path}: its lock file ${file.path}-lock cannot be used (SQLITE_READONLY); it holds no data: make it writable by this user, or remove it while no server runs`,
      );
    },
  );
});
