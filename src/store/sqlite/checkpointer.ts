/**
 * WAL checkpoints off the event loop. Left to itself, SQLite checkpoints inside
 * whichever commit takes the WAL past 1000 pages, and a checkpoint syncs the WAL
 * and the database file: an fsync on the JavaScript thread in the middle of a
 * slot request. So the serving connection never checkpoints on its own
 * (`wal_autocheckpoint = 0`) and a worker thread with its own connection runs a
 * PASSIVE checkpoint every `everyMs`: it copies committed frames into the
 * database file and syncs it there, never blocking the writer. (Erasure and the
 * retention job still run their TRUNCATE checkpoints on the serving connection.)
 *
 * This does not bound the WAL's size. SQLite restarts the WAL only when a write begins with every frame already
 * copied, and under steady writes frames are committed while each PASSIVE checkpoint runs, so it never catches up:
 * the WAL grows by every write until the next TRUNCATE (the retention job, once a minute, or an erasure) —
 * ~33 MB/s at ~5,000 slots/s here (review 11). The interval sets only how far the copy trails the writes.
 */

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

// Plain JavaScript, so the worker needs no TypeScript loader; the driver comes from this package's node_modules.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage(String(err && err.message));
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * How often the worker checkpoints. A longer one folds more rows' changes into each page it writes back, but session
 * 10 measured 1 s against 250 ms: COMMIT 31–33 instead of 19–20 µs per row, and a longer uncopied tail for the
 * truncating checkpoints on the engine thread to copy (bench/README, sessions 10 and 11).
 */
const CHECKPOINT_MS = 250;

export class Checkpointer {
  private worker: Worker;
  private exited: Promise<void>;

  constructor(sqlite: Database.Database, path: string, everyMs = CHECKPOINT_MS) {
    sqlite.pragma('wal_autocheckpoint = 0');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, everyMs } });
    this.worker.on('message', (message) => console.error(`[store] WAL checkpoint failed: ${message}`));
    this.worker.on('error', (err) => console.error(`[store] WAL checkpointer stopped: ${err.message}`));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // Never the reason the process stays alive.
    this.worker.unref();
  }

  /** Stops the worker and closes its connection, so the serving connection's close can fold and remove the WAL. */
  async close(): Promise<void> {
    // Referenced again, or a process with nothing else to do would exit before the worker closes its connection.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }
}
