/**
 * Durability off the event loop: the hot paths' group commits run with
 * synchronous=NORMAL and the WAL is synced on the thread pool. Events are acknowledged only after a sync
 * that began after their commit; reservations are answered once written and
 * synced in the background.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readSettings } from '../../src/config.js';
import { eventEffect } from '../../src/engine/events.js';
import { noopMetrics } from '../../src/ops/metrics.js';
import { openEngineStore } from '../../src/runtime/node-engine.js';
import type { Reservation } from '../../src/store/interface.js';
import { openDatabase } from '../../src/store/sqlite/db.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';

const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'wal-sync-'));
  dirs.push(dir);
  return join(dir, 'ads.db');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const T = Date.UTC(2026, 0, 1);
const reservation = (id: string): Reservation => ({
  id,
  uid: 'u'.repeat(64),
  campaignId: 'cmp_1',
  creativeId: 'cr_1',
  advertiserId: 'adv_1',
  bidType: 'cpm',
  priceMicros: 1_000,
  servedAt: T,
  expiresAt: T + 900_000,
  viewedAt: null,
  chargedAt: null,
  country: '',
  platform: '',
  video: false,
});

describe('WAL sync', () => {
  it('runs a group commit with synchronous=NORMAL and every other write with FULL', () => {
    const path = tempDb();
    const { sqlite } = openDatabase(path);
    const wal = new WalSync(path, sqlite);
    try {
      expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(sqlite.pragma('synchronous', { simple: true })).toBe(2); // FULL
      // The switches are statements prepared once: `pragma()` would prepare one on every group commit.
      const pragma = vi.spyOn(sqlite, 'pragma');
      expect(wal.unsynced(() => 'committed')).toBe('committed');
      expect(pragma).not.toHaveBeenCalled();
      pragma.mockRestore();
      expect(wal.unsynced(() => sqlite.pragma('synchronous', { simple: true }))).toBe(1); // NORMAL
      expect(sqlite.pragma('synchronous', { simple: true })).toBe(2);
      expect(() =>
        wal.unsynced(() => {
          throw new Error('rolled back');
        }),
      ).toThrow('rolled back');
      expect(sqlite.pragma('synchronous', { simple: true })).toBe(2);
      // Reads go through a memory map (writes never do): fewer read() calls on the ledger's random lookups.
      expect(sqlite.pragma('mmap_size', { simple: true })).toBe(readSettings({}).sqliteMmapMb * 2 ** 20);
    } finally {
      wal.close();
      sqlite.close();
    }
  });

  it('maps SQLITE_MMAP_MB of the file for reads (1 GiB by default), and nothing with 0', async () => {
    const { sqlite } = openDatabase(tempDb(), { mmapBytes: 0 });
    expect(sqlite.pragma('mmap_size', { simple: true })).toBe(0);
    sqlite.close();
    expect(readSettings({}).sqliteMmapMb).toBe(1024);
    expect(readSettings({ SQLITE_MMAP_MB: '64' }).sqliteMmapMb).toBe(64);
    for (const bad of ['-1', '2049', '1.5', 'lots']) {
      expect(() => readSettings({ SQLITE_MMAP_MB: bad })).toThrow(
        `SQLITE_MMAP_MB must be an integer between 0 and 2048, got "${bad}"`,
      );
    }
    // The setting reaches the engine's store (node-engine.ts): its file (not the -shm, always mapped) is in this
    // process's mappings, or not.
    const mapped = (path: string) =>
      readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .some((line) => line.endsWith(` ${path}`));
    for (const [env, expected] of [
      [{}, true],
      [{ SQLITE_MMAP_MB: '0' }, false],
    ] as const) {
      const path = tempDb();
      const { store } = openEngineStore(readSettings(env), path, noopMetrics);
      try {
        await store.catalog.listAdvertisers();
        expect({ env, mapped: mapped(path) }).toEqual({ env, mapped: expected });
      } finally {
        await store.close();
      }
    }
  });

  it('callers that arrive while a sync runs share the next one, which starts after it', async () => {
    const path = tempDb();
    const { sqlite } = openDatabase(path);
    const wal = new WalSync(path);
    try {
      sqlite.exec('CREATE TABLE t (x INTEGER)');
      const first = wal.sync();
      sqlite.exec('INSERT INTO t VALUES (1)');
      // Committed after the first sync started: these must wait for a second round.
      const second = wal.sync();
      const third = wal.sync();
      await first;
      expect(wal.rounds).toBe(1);
      await Promise.all([second, third]);
      expect(wal.rounds).toBe(2);
    } finally {
      wal.close();
      sqlite.close();
    }
  });

  it('acknowledges an event batch only after a WAL sync that follows its commit', async () => {
    const path = tempDb();
    const walSync = new WalSync(path);
    const store = createSqliteStore({ path, userCacheSize: 10, walSync });
    try {
      await store.users.reserve([reservation('r_1')]);
      await walSync.sync(); // settle the background sync the reservation started
      const before = walSync.rounds;
      const result = await store.ledger.record(
        [{ type: 'impression', reservationId: 'r_1', uid: 'u'.repeat(64), campaignId: 'cmp_1', creativeId: 'cr_1' }],
        T + 1_000,
        { effect: eventEffect, reportThreshold: 3 },
      );
      expect(result.outcomes).toEqual([{ status: 'accepted' }]);
      expect(walSync.rounds).toBeGreaterThan(before);
    } finally {
      await store.close();
    }
  });

  it('answers reservations once written and syncs them in the background', async () => {
    const path = tempDb();
    const walSync = new WalSync(path);
    const store = createSqliteStore({ path, userCacheSize: 10, walSync });
    try {
      const before = walSync.rounds;
      await store.users.reserve([reservation('r_2')]);
      await walSync.sync();
      // The background sync the commit started, then ours.
      expect(walSync.rounds).toBeGreaterThanOrEqual(before + 2);
      const reopened = openDatabase(path);
      try {
        expect(reopened.sqlite.prepare('SELECT count(*) AS n FROM reservations WHERE id = ?').get('r_2')).toEqual({ n: 1 });
      } finally {
        reopened.sqlite.close();
      }
    } finally {
      await store.close();
    }
  });

  it('commits traffic counts unsynced, syncs them in the background, and merges them as SqlTraffic does', async () => {
    const path = tempDb();
    const walSync = new WalSync(path);
    const unsynced = vi.spyOn(walSync, 'unsynced');
    const store = createSqliteStore({ path, userCacheSize: 10, walSync });
    const { Reach } = await import('../../src/store/reach.js');
    const sketch = (...ids: string[]) => {
      const reach = Reach.empty();
      for (const id of ids) reach.add(id.repeat(16));
      return reach.serialize();
    };
    const cell = (requests: number, reachSketch: string) => ({
      day: '2026-01-01',
      country: 'DE',
      language: 'de',
      platform: 'android',
      requests,
      opportunities: 2 * requests,
      served: requests,
      reachSketch,
    });
    try {
      await walSync.sync();
      const before = walSync.rounds;
      await store.traffic.add({ cells: [cell(3, sketch('a', 'b'))], totals: { '2026-01-01': { impressions: 2, clicks: 1 } } });
      // The flush runs inside a slot request: its commit goes through the unsynced path, the sync follows off the loop.
      expect(unsynced).toHaveBeenCalledTimes(1);
      await walSync.sync();
      expect(walSync.rounds).toBeGreaterThanOrEqual(before + 2);
      await store.traffic.add({
        cells: [cell(2, sketch('b', 'c'))],
        totals: { '2026-01-01': { impressions: 1, clicks: 0 } },
        oldestDayKept: '2025-12-01',
      });
      const { cells, totals } = await store.traffic.read('2026-01-01', '2026-01-01');
      expect(cells).toEqual([{ ...cell(5, sketch('a', 'b', 'c')) }]);
      expect(totals).toEqual({ '2026-01-01': { impressions: 3, clicks: 1 } });
    } finally {
      await store.close();
    }
  });

  it('closing right after reservations waits for their background syncs, which never fail', async () => {
    const path = tempDb();
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args) => void errors.push(args.join(' ')));
    try {
      for (let i = 0; i < 5; i++) {
        const store = createSqliteStore({ path, userCacheSize: 10 });
        // Commits are answered before their sync: the second one's sync waits for the first's to end.
        await store.users.reserve([reservation(`r_close_${i}`)]);
        await store.users.reserve([reservation(`r_close_${i}b`)]);
        // Close at once, as a shutdown right after the last requests does.
        await store.close();
      }
      // Let any sync that was still to start run (it would have reopened a removed -wal file).
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(errors).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('folds the WAL into the database file from a worker thread, not inside a commit', async () => {
    const path = tempDb();
    const store = createSqliteStore({ path, userCacheSize: 10 });
    try {
      await store.users.reserve([reservation('r_3')]);
      // The checkpointer runs every 250 ms once its worker started (slow in a loaded suite: up to 10 s allowed); the serving
      // connection itself never checkpoints (wal_autocheckpoint = 0).
      let rows = 0;
      for (let i = 0; i < 100 && rows === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        // The database file alone, without its WAL: only checkpointed rows are in it.
        const copy = `${path}.copy`;
        copyFileSync(path, copy);
        const alone = new Database(copy, { readonly: true });
        try {
          const migrated = alone.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'reservations'").get() as {
            n: number;
          };
          if (migrated.n === 1)
            rows = (alone.prepare("SELECT count(*) AS n FROM reservations WHERE id = 'r_3'").get() as { n: number }).n;
        } finally {
          alone.close();
          rmSync(copy, { force: true });
        }
      }
      expect(rows).toBe(1);
    } finally {
      await store.close();
    }
  });
});
