/**
 * A process that writes reservations through the SQLite store's group commits (8 writers, each appending a
 * reservation's id to the file `<acknowledged>` once it is acknowledged: a pipe could refuse a synchronous write) with a WAL restart past 1 MiB and a truncation every 20 ms,
 * and SIGKILLs itself while the commits are held for the checkpointer, once 2,000 are acknowledged
 * (`test/store/wal-hold-crash.test.ts`). Run: node --import tsx test/helpers/wal-hold-writer.ts <database> <acknowledged>.
 */
import { openSync, writeSync } from 'node:fs';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import type { WalSync } from '../../src/store/sqlite/wal-sync.js';
import { reservation } from './store-records.js';

const store = createSqliteStore({ path: process.argv[2], userCacheSize: 100, walRestartBytes: 2 ** 20 });
const acknowledgedFile = openSync(process.argv[3], 'a');
const wal = (store.checkpointer as unknown as { wal: WalSync }).wal;
const T = Date.now();
const campaign = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1_000 } } as const;

let next = 0;
let acknowledged = 0;
async function writer(): Promise<void> {
  for (;;) {
    const n = next++;
    const uid = `${n % 500}`.padStart(64, 'u');
    await store.users.reserve([
      reservation(campaign, { id: 'cr_1' }, uid, { id: `r_${n}`, servedAt: T, expiresAt: T + 900_000 }),
    ]);
    writeSync(acknowledgedFile, `r_${n}\n`);
    acknowledged++;
  }
}
for (let w = 0; w < 8; w++) void writer();
setInterval(() => void store.truncateWal(), 20);
const dieWhileHeld = () => {
  if (acknowledged >= 2000 && wal.held) {
    writeSync(2, `killed during a hold after ${acknowledged} acknowledged\n`);
    process.kill(process.pid, 'SIGKILL');
  }
  setImmediate(dieWhileHeld);
};
dieWhileHeld();
// No hold in a minute (the case the test is there to catch): end rather than write for ever.
setTimeout(() => {
  writeSync(2, `no hold within 60 s (${acknowledged} acknowledged)\n`);
  process.exit(3);
}, 60_000);
