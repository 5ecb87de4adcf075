/** The store contract against the embedded SQLite backend (a real file, WAL), with a roomy and a one-entry user cache. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { storeContract } from './contract.js';

function sqlite(userCacheSize: number) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
    const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize });
    return {
      store,
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

storeContract('sqlite', sqlite(1000));
// A cache of one forces reads back from SQL, so write-through is checked too.
storeContract('sqlite (cache of 1)', sqlite(1));
