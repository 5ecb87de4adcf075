/**
 * The WAL's size stays bounded under steady writes: the checkpointer holds the group commits for one pass once the
 * WAL is long, so it catches up and the next commit restarts the WAL from its start (checkpointer.ts). And the
 * truncating checkpoints of erasure and retention run on the checkpointer's thread, not the serving connection's.
 * Sizes are asserted, never times.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StoreMetrics } from '../../src/ops/metrics.js';
import type { Reservation } from '../../src/store/interface.js';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { openDatabase, walTruncation } from '../../src/store/sqlite/db.js';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import type { SqliteUsers } from '../../src/store/sqlite/users.js';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';
import { makeService } from '../helpers/service.js';
import { reservation as served } from '../helpers/store-records.js';

const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'wal-bounded-'));
  dirs.push(dir);
  return join(dir, 'ads.db');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const walSize = (path: string) => statSync(`${path}-wal`).size;

describe('the WAL under steady writes', () => {
  it('stays bounded: the commits are held for one checkpoint pass and the WAL restarts', async () => {
    const path = tempDb();
    const { sqlite } = openDatabase(path);
    sqlite.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    const wal = new WalSync(path, sqlite);
    // Restart once a pass leaves 1 MiB (256 frames) in the WAL (production: 32 MiB), at the production interval.
    const checkpointer = new Checkpointer(sqlite, path, wal, { restartBytes: 2 ** 20 });
    const insert = sqlite.prepare('INSERT INTO filler (body) VALUES (?)');
    const write = sqlite.transaction((bodies: Buffer[]) => {
      for (const body of bodies) insert.run(body);
    });
    const group = new GroupCommit<Buffer, void>(
      (bodies) => {
        write(bodies);
        return bodies.map(() => undefined);
      },
      undefined,
      { wal, wait: 'commit' },
    );
    const body = Buffer.alloc(4096, 7);
    const rows = 16_000; // 8 rows (8 pages, ~33 KiB of WAL) per commit: ~64 MiB written in all
    let largest = 0;
    try {
      // Steady writes: a commit of 8 rows every timer turn, as the serving thread commits while requests arrive.
      for (let i = 0; i < rows; i += 8) {
        await Promise.all(Array.from({ length: 8 }, () => group.submit(body)));
        largest = Math.max(largest, walSize(path));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // Every held item was committed once it was let through.
      expect((sqlite.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n).toBe(rows);
      // Without the restarts the WAL would hold all ~64 MiB; with them, about the 1 MiB limit plus a pass of writes
      // (~9 MiB idle; 25 MiB seen once at load 4 on two cores, when the checkpointer's thread waited for a core).
      expect(rows * 4096).toBeGreaterThan(60 * MiB);
      expect(largest).toBeLessThan(40 * MiB);
    } finally {
      await checkpointer.close();
      await wal.drain();
      sqlite.close();
      wal.close();
    }
  });

  it('empties the WAL after retention on the checkpointer thread, not on the serving connection', async () => {
    const path = tempDb();
    const store = createSqliteStore({ path, userCacheSize: 10 });
    const sqlite = (store.users as unknown as { db: { $client: Database.Database } }).db.$client;
    const pragma = vi.spyOn(sqlite, 'pragma');
    try {
      const T = Date.UTC(2026, 0, 1);
      const reservations = Array.from({ length: 200 }, (_, i) => reservation(i, T));
      await store.users.reserve(reservations);
      const before = walSize(path);
      await store.prune(T + 86_400_000, 3_600_000);
      // Emptied, then the new header and the one page the checkpointer commits so the next commit need not sync it.
      expect(before).toBeGreaterThan(4 * 4120);
      expect(walSize(path)).toBeLessThanOrEqual(32 + 4120);
      expect(pragma.mock.calls.filter(([source]) => /checkpoint/.test(source))).toEqual([]);
    } finally {
      pragma.mockRestore();
      await store.close();
    }
  });

  it("a prune beside the worker's restart commits and truncations never fails with SQLITE_BUSY", async () => {
    const path = tempDb();
    const store = createSqliteStore({ path, userCacheSize: 10 });
    try {
      const T = Date.UTC(2026, 0, 1);
      const rows = 1500;
      await store.users.reserve(Array.from({ length: rows }, (_, i) => reservation(i, T)));
      // The worker writes (a TRUNCATE, then a one-page restart commit) over and over, while the prune reads then
      // deletes one row per transaction: a chunk between its read and its write when the worker commits would fail.
      let pruning = true;
      const truncations = (async () => {
        let n = 0;
        while (pruning) {
          expect(await store.truncateWal()).toBe(true);
          n++;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return n;
      })();
      const pruned = await (store.users as SqliteUsers).prune(T + 86_400_000, 3_600_000, 1).finally(() => {
        pruning = false;
      });
      expect(pruned).toBe(rows);
      expect(await truncations).toBeGreaterThan(1);
    } finally {
      await store.close();
    }
  });
});

describe('a checkpointer worker that ends on its own', () => {
  const setUp = (metrics?: StoreMetrics) => {
    const path = tempDb();
    const { sqlite } = openDatabase(path);
    sqlite.exec('CREATE TABLE t (x)');
    const wal = new WalSync(path, sqlite);
    const checkpointer = new Checkpointer(sqlite, path, wal, { metrics });
    const truncateWal = walTruncation(sqlite, checkpointer);
    const insert = sqlite.prepare('INSERT INTO t VALUES (?)');
    const group = new GroupCommit<number, void>(
      (xs) => {
        for (const x of xs) insert.run(x);
        return xs.map(() => undefined);
      },
      undefined,
      { wal, wait: 'sync' },
    );
    const worker = (
      checkpointer as unknown as { worker: { terminate(): Promise<number>; emit(event: 'error', thrown: unknown): boolean } }
    ).worker;
    const count = () => (sqlite.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    const close = async () => {
      await checkpointer.close();
      await wal.drain();
      sqlite.close();
      wal.close();
    };
    return { path, sqlite, wal, checkpointer, truncateWal, group, worker, count, close };
  };

  it('releases its hold: the held commits and the truncation settle', async () => {
    const s = setUp();
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await s.group.submit(1);
      // A truncation holds the commits; the worker ends before (or after) it answers.
      const truncated = s.truncateWal();
      expect(s.wal.held).toBeDefined();
      const committed = s.group.submit(2);
      await s.worker.terminate();
      await committed;
      expect(await truncated).toBe(true);
      expect(s.wal.held).toBeUndefined();
      expect(s.count()).toBe(2);
    } finally {
      error.mockRestore();
      await s.close();
    }
  });

  it('once gone: no hold is taken, the WAL is truncated on the serving connection, and it is logged once', async () => {
    const s = setUp();
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await s.group.submit(1);
      await s.worker.terminate();
      expect(s.checkpointer.alive).toBe(false);
      expect(error.mock.calls.filter(([line]) => /checkpointer stopped/.test(String(line)))).toHaveLength(1);
      // The serving connection checkpoints itself again.
      expect(s.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      const pragma = vi.spyOn(s.sqlite, 'pragma');
      expect(await s.truncateWal()).toBe(true);
      expect(pragma.mock.calls.filter(([source]) => /checkpoint\(TRUNCATE\)/.test(source))).toHaveLength(1);
      pragma.mockRestore();
      expect(statSync(`${s.path}-wal`).size).toBe(0);
      expect(s.wal.held).toBeUndefined();
      await Promise.all([s.group.submit(2), s.group.submit(3)]);
      expect(s.count()).toBe(3);
    } finally {
      error.mockRestore();
      await s.close();
    }
  });

  it('once gone: a truncation that fails on the serving connection counts as a checkpoint error, logged as the worker’s are', async () => {
    let errors = 0;
    const s = setUp({ commit() {}, holds() {}, userCache() {}, checkpointError: () => errors++ });
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const logged = () => error.mock.calls.map(([line]) => String(line)).filter((line) => /WAL checkpoint failed/.test(line));
    try {
      await s.group.submit(1);
      await s.worker.terminate();
      // Its end.
      expect(errors).toBe(1);
      // A statement still reading on the serving connection: the driver refuses the checkpoint (a real error).
      const reading = s.sqlite.prepare('SELECT x FROM t').iterate();
      reading.next();
      for (let i = 0; i < 3; i++) expect(await s.truncateWal()).toBe(false);
      reading.return?.();
      expect(errors).toBe(4);
      expect(logged()).toEqual(['[store] WAL checkpoint failed: This database connection is busy executing a query']);
      expect(await s.truncateWal()).toBe(true);
    } finally {
      error.mockRestore();
      await s.close();
    }
  });

  it('logs why it ended: the error of a failed start, any value the worker threw, or that it reported none', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const stopped = () => error.mock.calls.map(([line]) => String(line)).filter((line) => /checkpointer stopped/.test(line));
    try {
      // Its connection cannot open: the start fails with the driver's error.
      const path = tempDb();
      const { sqlite } = openDatabase(path);
      const wal = new WalSync(path, sqlite);
      const failed = new Checkpointer(sqlite, join(path, '..', 'missing', 'ads.db'), wal);
      await (failed as unknown as { exited: Promise<void> }).exited;
      expect(failed.alive).toBe(false);
      expect(stopped()).toEqual([
        '[store] WAL checkpointer stopped (exit code 1: Cannot open database because the directory does not exist); ' +
          'the serving connection checkpoints from now on',
      ]);
      sqlite.close();
      wal.close();
      // A throw of something other than an Error (as the worker's 'error' event carries it), and none at all.
      for (const thrown of ['disk gone', null, { code: 'SQLITE_IOERR' }]) {
        const s = setUp();
        s.worker.emit('error', thrown);
        await s.worker.terminate();
        await s.close();
      }
      const s = setUp();
      await s.worker.terminate();
      await s.close();
      // (The exit code of a terminated worker is 0 or 1, depending on how far it got.)
      expect(
        stopped()
          .slice(1)
          .map((line) => line.replace(/exit code \d+/, 'exit code N')),
      ).toEqual(
        [
          'disk gone',
          'the worker threw null',
          "the worker threw { code: 'SQLITE_IOERR' }",
          'the worker reported no error: terminated, or it exited on its own',
        ].map((why) => `[store] WAL checkpointer stopped (exit code N: ${why}); the serving connection checkpoints from now on`),
      );
    } finally {
      error.mockRestore();
    }
  });
});

describe("the checkpointer's health, metrics and error log", () => {
  it('a checkpointer worker that ended makes /readyz fail on the database check', async () => {
    const s = await makeService();
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect((await s.call('GET', '/readyz', undefined)).status).toBe(200);
      const worker = (s.store.checkpointer as unknown as { worker: { terminate(): Promise<number> } }).worker;
      await worker.terminate();
      const ready = await s.call('GET', '/readyz', undefined);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        detail: 'Failing checks: database',
        checks: { database: false, migrations: true, catalog: true },
      });
    } finally {
      error.mockRestore();
      await s.close();
    }
  });

  it('reports each hold with its reason and length, and each worker error', async () => {
    const path = tempDb();
    const holds: [string, number][] = [];
    let errors = 0;
    const metrics = {
      commit() {},
      holds() {},
      userCache() {},
      walHold: (reason: string, seconds: number) => holds.push([reason, seconds]),
      checkpointError: () => errors++,
    };
    const store = createSqliteStore({ path, userCacheSize: 10, metrics });
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await store.users.reserve([reservation(1, Date.UTC(2026, 0, 1))]);
      expect(await store.truncateWal()).toBe(true);
      expect(holds).toEqual([['truncate', expect.any(Number)]]);
      expect(holds[0][1]).toBeGreaterThan(0);
      // A failed pass, as the worker reports it (a real one needs a failing disk).
      workerOf(store.checkpointer).emit('message', { error: 'disk I/O error' });
      expect(errors).toBe(1);
      // The worker's end counts too (nothing restarts it; /readyz fails until the process is restarted).
      await workerOf(store.checkpointer).terminate();
      expect(errors).toBe(2);
    } finally {
      error.mockRestore();
      await store.close();
    }
  });

  /** A store whose checkpointer worker "sends" the errors `fail` gives, the lines they logged, with Date faked. */
  async function checkpointerErrors(test: (fail: (message: string) => void, logged: () => string[]) => void): Promise<void> {
    const store = createSqliteStore({ path: tempDb(), userCacheSize: 10 });
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const worker = workerOf(store.checkpointer);
      test(
        (message) => worker.emit('message', { error: message }),
        () => error.mock.calls.map(([line]) => String(line)).filter((line) => /checkpoint failed/.test(line)),
      );
    } finally {
      vi.useRealTimers();
      error.mockRestore();
      await store.close();
    }
  }

  it('logs a repeated worker error once a minute, with how often it came since', () =>
    checkpointerErrors((fail, logged) => {
      const failed = () => fail('disk I/O error');
      for (let i = 0; i < 240; i++) failed(); // a minute of failed passes every 250 ms
      expect(logged()).toEqual(['[store] WAL checkpoint failed: disk I/O error']);
      vi.advanceTimersByTime(59_000);
      failed();
      expect(logged()).toHaveLength(1);
      vi.advanceTimersByTime(1_000);
      failed();
      expect(logged()).toEqual([
        '[store] WAL checkpoint failed: disk I/O error',
        '[store] WAL checkpoint failed: disk I/O error (and 240 times since it was last logged)',
      ]);
      // Another error is logged at once.
      fail('database disk image is malformed');
      expect(logged()).toHaveLength(3);
    }));

  it('limits each distinct error on its own: two that alternate are each logged once a minute, with their counts', () =>
    checkpointerErrors((failed, logged) => {
      for (let i = 0; i < 4; i++) failed(i % 2 ? 'B' : 'A'); // A, B, A, B
      expect(logged()).toEqual(['[store] WAL checkpoint failed: A', '[store] WAL checkpoint failed: B']);
      vi.advanceTimersByTime(60_000);
      failed('B');
      failed('A');
      expect(logged().slice(2)).toEqual([
        '[store] WAL checkpoint failed: B (and 1 times since it was last logged)',
        '[store] WAL checkpoint failed: A (and 1 times since it was last logged)',
      ]);
      // At most 64 messages are remembered, the least recently logged forgotten first: after 64 others, A is new again.
      for (let i = 0; i < 64; i++) failed(`other ${i}`);
      expect(logged()).toHaveLength(4 + 64);
      failed('A');
      expect(logged()).toHaveLength(4 + 64 + 1);
      // The 64 others are still remembered, minus the one that made room for A.
      for (let i = 1; i < 64; i++) failed(`other ${i}`);
      expect(logged()).toHaveLength(4 + 64 + 1);
    }));
});

/** The checkpointer's worker thread, whose messages a test can stand in for. */
const workerOf = (checkpointer: Checkpointer | undefined) =>
  (checkpointer as unknown as { worker: { emit(event: 'message', message: unknown): void; terminate(): Promise<number> } })
    .worker;

describe('store.close()', () => {
  it('lets the commits held at close through, answered and stored', async () => {
    const path = tempDb();
    const store = createSqliteStore({ path, userCacheSize: 10 });
    const T = Date.UTC(2026, 0, 1);
    // A truncation holds the commits; reservations arrive meanwhile, then the store closes.
    const error = vi.spyOn(console, 'error');
    const truncated = store.truncateWal();
    const reserved = [0, 1, 2].map((i) => store.users.reserve([reservation(i, T)]));
    await store.close();
    await truncated;
    for (const r of reserved) await r;
    // Their WAL sync ran before the file was closed, too.
    expect(error).not.toHaveBeenCalled();
    error.mockRestore();
    const reopened = openDatabase(path).sqlite;
    try {
      expect((reopened.prepare('SELECT count(*) AS n FROM reservations').get() as { n: number }).n).toBe(3);
    } finally {
      reopened.close();
    }
  });
});

/** A served slot of user `i` (a distinct 64-character pseudonym each) at `T`. */
function reservation(i: number, T: number): Reservation {
  return served(SLOT_CAMPAIGN, { id: 'cr_1' }, `${i}`.padStart(64, 'u'), {
    id: `r_${i}`,
    servedAt: T,
    expiresAt: T + 900_000,
  });
}
const SLOT_CAMPAIGN = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1_000 } } as const;
