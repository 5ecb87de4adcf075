/**
 * One SQLite database file per test, in a temporary folder, for tests that open it with
 * several stores one after another (a restarted process) or read it with a second
 * connection. Registers its own `beforeEach`/`afterEach`: call it inside a `describe`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/index.js';

export function sqliteFile(prefix: string) {
  let dir = '';
  const open: ReturnType<typeof createSqliteStore>[] = [];
  /** Abandoned stores' background work (checkpointer, WAL sync): it may still touch the folder. */
  const ending: Promise<void>[] = [];
  const file = {
    /** The database's path in this test. */
    path: '',
    /**
     * A store on the file (a process); closed after the test if still open. One process at a time holds a file
     * (`lockDatabase`): those still open end first as a kill -9 would end them (`abandon`: their memory is lost).
     */
    store(): ReturnType<typeof createSqliteStore> {
      for (const s of open.splice(0)) ending.push(s.abandon());
      const s = createSqliteStore({ path: file.path, userCacheSize: 100 });
      open.push(s);
      return s;
    },
    /** Closes every store opened so far: the next `store()` is a restarted process. */
    async closeAll(): Promise<void> {
      for (const s of open.splice(0)) await s.close();
      await Promise.all(ending.splice(0));
    },
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    file.path = join(dir, 'ads.db');
  });
  afterEach(async () => {
    await file.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });
  return file;
}
