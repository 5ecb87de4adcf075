/**
 * WAL checkpoints off the event loop, and a WAL of bounded size. Left to itself, SQLite checkpoints inside whichever
 * commit takes the WAL past 1000 pages, and a checkpoint syncs the WAL and the database file: an fsync on the
 * JavaScript thread in the middle of a slot request. So the serving connection never checkpoints on its own
 * (`wal_autocheckpoint = 0`) and a worker thread with its own connection runs a PASSIVE checkpoint every `everyMs`:
 * it copies committed frames into the database file and syncs it there, never blocking the writer.
 *
 * That alone does not bound the WAL's size: SQLite restarts the WAL (the next commit writes from its start again)
 * only when a write begins with every frame already copied, and under steady writes frames are committed while each
 * PASSIVE checkpoint runs, so it never catches up (the start of session 12 grew to 300–375 MB at 2,000–3,000 slots/s
 * before the retention run's truncation). So once a pass leaves `restartBytes` (WAL_RESTART_MB, 32 MiB by default) or more in the WAL, the
 * worker runs a few more passes, each copying what was committed during the one before, then asks the serving thread
 * to hold its group commits (`WalSync.hold`: the callers' answers wait, the thread serves on) for one last pass and a
 * one-page commit of its own that restarts the WAL. That commit also writes and syncs the WAL's new header, which
 * SQLite does in the first write after a restart: here, not in the serving thread's next group commit. The file
 * keeps the size it reached (37–39 MB at ~3,400 slots/s in session 12, `wal12`); a hold came every 2–3 s there and
 * lasted a median 20 ms on a machine at load 14 (the checkpoint's and the header's fsyncs), none at rest.
 *
 * `truncate()` (erasure and the retention job: deleted rows' old page images must leave the disk) runs a TRUNCATE
 * checkpoint on the worker while the group commits are held, so the copy and the file's truncation no longer stall
 * the serving thread (30–70 ms under load when they ran there). A TRUNCATE that finds another connection busy (a
 * reader) copies what it can but does not truncate; it is tried again after the commits held meanwhile went through
 * (`truncateWal`: ~3 s at most). The worker writes only during a hold, and the retention job's chunks (a read, then
 * deletes: a worker commit between the two would make them fail with SQLITE_BUSY_SNAPSHOT) wait for the holds too.
 * Other writes of the serving connection (admin calls, the traffic flush, report rows) are not held: one made during
 * a hold only delays the restart to a later pass, or waits (synchronously, a few ms) for the worker's write lock. A reader that keeps a
 * transaction open (a backup) stops the restarts while it lasts; after a hold that could not copy every frame, the
 * next waits 1, 2, 4 … 16 passes.
 */

import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { readSettings } from '../../config.js';
import type { StoreMetrics, WalHoldReason } from '../../ops/metrics.js';
import { retryTruncate, type TruncateOutcome, truncateHere } from './db.js';
import type { WalSync } from './wal-sync.js';

// Plain JavaScript, so the worker needs no TypeScript loader; the driver comes from this package's node_modules.
// Messages in: 'pass' (the commits are held: one more PASSIVE pass), 'truncate' (held: a TRUNCATE checkpoint),
// 'close'. Out: 'hold' (the WAL is long: hold the commits and send 'pass'), the answer to each 'pass' or 'truncate'
// ({ done: every frame copied (and, truncating, the file emptied), busy: another connection was in the way }), or
// { error }.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
// Short: a TRUNCATE waits this long for the write lock or a reader while the serving thread holds its commits.
db.pragma('busy_timeout = 20');
// Checkpoints sync the WAL and the database file as with FULL; the one-page commit below is synced by the serving
// connection's next WAL sync (its WAL header, written first, is synced at once with NORMAL, as set here).
db.pragma('synchronous = NORMAL');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
let asked = false;
// Passes to skip before the next hold, after a hold that could not copy every frame (a reader's transaction kept the
// older ones): 1, 2, 4 … 16, so a long reader does not make the commits wait every pass for nothing.
let backoff = 0;
let wait = 0;
function run(statement) {
  try {
    return statement.get();
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
    return undefined;
  }
}
// The first write after a restart or a truncation writes the WAL's new header and fsyncs it: made here, with a
// one-page commit that changes nothing (the header's user_version set to itself), not in the serving thread's next
// group commit.
// Read and written in one transaction, so no other writer's user_version is overwritten (db.ts: it is reserved for
// this no-op write).
const restart = db.transaction(() => {
  db.pragma('user_version = ' + Number(db.pragma('user_version', { simple: true })));
}).immediate;
function tryRestart() {
  try {
    restart();
  } catch (err) {
    // A serving write held the lock (not held itself: the traffic flush, an admin call): that write's connection
    // writes the new header instead. Not a failure.
    if (err && String(err.code).startsWith('SQLITE_BUSY')) return;
    parentPort.postMessage({ error: String(err && err.message) });
  }
}
const timer = setInterval(() => {
  if (asked) return;
  let r = run(passive);
  if (!r || r.log < workerData.restartFrames) return;
  if (wait > 0) {
    wait--;
    return;
  }
  // Each pass copies what was committed during the one before: a few more, until one copies few frames, so the pass
  // the commits wait for is short.
  for (let i = 0; i < 3 && r; i++) {
    const before = r.checkpointed;
    r = run(passive);
    if (r && r.checkpointed - before < 64) break;
  }
  asked = true;
  parentPort.postMessage('hold');
}, workerData.everyMs);
parentPort.on('message', (message) => {
  if (message === 'close') {
    clearInterval(timer);
    db.close();
    parentPort.close();
    return;
  }
  const r = run(message === 'truncate' ? truncate : passive);
  const done = r !== undefined && r.busy === 0 && r.log === r.checkpointed;
  if (message === 'pass') {
    asked = false;
    backoff = done ? 0 : Math.min(16, backoff * 2 || 1);
    wait = backoff;
  }
  if (done) tryRestart();
  parentPort.postMessage({ done, busy: r !== undefined && r.busy !== 0 });
});
`;

/**
 * How often the worker checkpoints. A longer one folds more rows' changes into each page it writes back, but session
 * 10 measured 1 s against 250 ms: COMMIT 31–33 instead of 19–20 µs per row, and a longer uncopied tail for the
 * truncating checkpoints (bench/README, sessions 10 and 11).
 */
const CHECKPOINT_MS = 250;

/** What the worker threw, as one line: its message, else the value itself (a throw of something other than an Error). */
function causeOf(thrown: unknown): string {
  const message = (thrown as { message?: unknown } | null | undefined)?.message;
  if (typeof message === 'string' && message !== '') return message;
  if (typeof thrown === 'string' && thrown !== '') return thrown;
  return `the worker threw ${thrown instanceof Error ? `${thrown.name} with no message` : inspect(thrown, { breakLength: Infinity })}`;
}

/** Distinct worker error messages whose last log line is remembered (logError). */
const LOGGED_ERRORS = 64;

type Answer = { done: boolean; busy: boolean };

export class Checkpointer {
  private worker: Worker;
  private exited: Promise<void>;
  /** The answers still to come from the worker, in the order asked. */
  private waiting: ((answer: Answer) => void)[] = [];
  private closed = false;
  /**
   * False once the worker ended on its own (a throw while it started, out of memory, a native failure): no hold is
   * taken any more, the serving connection checkpoints itself again (`wal_autocheckpoint`, SQLite's default 1000
   * pages: bounded, with the fsyncs back on the serving thread) and truncates the WAL itself; the exit counts as a
   * checkpoint error and the store's health reports the database failing (`/readyz` 503, `/healthz` still 200) until
   * the process is restarted: nothing here restarts the worker.
   */
  alive = true;
  /** Each hold's length and each worker error (`/metrics`). */
  private metrics: StoreMetrics | undefined;

  constructor(
    private sqlite: Database.Database,
    path: string,
    private wal: WalSync,
    o: { everyMs?: number; restartBytes?: number; metrics?: StoreMetrics } = {},
  ) {
    this.metrics = o.metrics;
    sqlite.pragma('wal_autocheckpoint = 0');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // In WAL frames: one page each (4 KiB unless the file says otherwise).
    // Bytes a pass may leave in the WAL before the commits are held for the restart: WAL_RESTART_MB's default unless given.
    const restartBytes = o.restartBytes ?? readSettings({}).walRestartMb * 2 ** 20;
    const restartFrames = Math.ceil(restartBytes / Number(sqlite.pragma('page_size', { simple: true })));
    const workerData = { driver, path, everyMs: o.everyMs ?? CHECKPOINT_MS, restartFrames };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.worker.on('message', (message: 'hold' | Answer | { error: string }) => {
      if (message === 'hold') void this.held('pass', 'restart');
      else if ('error' in message) this.logError(message.error);
      else this.waiting.shift()?.(message);
    });
    // Node emits 'error' (with whatever the worker threw, not always an Error) before 'exit'.
    let reason = 'the worker reported no error: terminated, or it exited on its own';
    this.worker.on('error', (thrown: unknown) => {
      reason = causeOf(thrown);
    });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (!this.closed) {
          this.alive = false;
          this.metrics?.checkpointError?.();
          console.error(
            `[store] WAL checkpointer stopped (exit code ${code}: ${reason}); the serving connection checkpoints from now on`,
          );
          if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
        }
        // Any checkpoint asked and never answered: the commits it held go on.
        for (const answer of this.waiting.splice(0)) answer({ done: false, busy: false });
        resolve();
      }),
    );
    // Never the reason the process stays alive.
    this.worker.unref();
  }

  /**
   * Each error message's last log line and the repeats held back since, per message so that two errors taking turns
   * are each limited; the least recently seen of more than LOGGED_ERRORS messages is forgotten (and logged anew).
   */
  private logged = new LRUCache<string, { at: number; since: number }>({ max: LOGGED_ERRORS });

  /**
   * A worker error (or, once the worker is gone, a truncation's on the serving connection), logged at most once a
   * minute per message while it repeats (a disk I/O error fails every pass), with a count.
   */
  private logError(error: string): void {
    this.metrics?.checkpointError?.();
    const now = Date.now();
    const last = this.logged.get(error);
    if (last && now - last.at < 60_000) {
      last.since++;
      return;
    }
    const repeats = last && last.since > 0 ? ` (and ${last.since} times since it was last logged)` : '';
    console.error(`[store] WAL checkpoint failed: ${error}${repeats}`);
    this.logged.set(error, { at: now, since: 0 });
  }

  /** One worker checkpoint (`what`) with the group commits held until it answers. */
  private held(what: 'pass' | 'truncate', reason: WalHoldReason): Promise<Answer> {
    if (this.closed || !this.alive) return Promise.resolve({ done: false, busy: false });
    const release = this.wal.hold();
    const since = performance.now();
    return new Promise<Answer>((resolve) => {
      this.waiting.push(resolve);
      this.worker.postMessage(what);
    }).finally(() => {
      release();
      this.metrics?.walHold?.(reason, (performance.now() - since) / 1000);
    });
  }

  /**
   * Folds the WAL into the database file and empties it (TRUNCATE) on the worker, the group commits held meanwhile;
   * while another connection keeps it busy, tries again every 10 ms with the commits flowing in between. On the
   * serving connection once the worker is gone (its errors counted and logged as the worker's).
   */
  truncate(attempts: number): Promise<TruncateOutcome> {
    const here = () => truncateHere(this.sqlite, (message) => this.logError(message));
    return retryTruncate(async () => {
      if (!this.alive) return here();
      const answer = await this.held('truncate', 'truncate');
      // The worker ended while asked: once more, on this connection.
      if (!this.alive) return here();
      return answer.done ? 'done' : answer.busy ? 'busy' : 'failed';
    }, attempts);
  }

  /** Stops the worker and closes its connection, so the serving connection's close can fold and remove the WAL. */
  async close(): Promise<void> {
    // Referenced again, or a process with nothing else to do would exit before the worker closes its connection.
    this.worker.ref();
    this.closed = true;
    this.worker.postMessage('close');
    await this.exited;
  }
}
