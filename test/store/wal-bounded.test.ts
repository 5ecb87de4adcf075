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
import type { Reservation } from '../../src/store/interface.js';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { openDatabase } from '../../src/store/sqlite/db.js';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';

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
    const checkpointer = new Checkpointer(sqlite, path, wal, { restartFrames: 256 });
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
      // Without the restarts the WAL would hold all ~64 MiB; with them, about the 1 MiB limit plus a pass of writes (~9 MiB).
      expect(rows * 4096).toBeGreaterThan(60 * MiB);
      expect(largest).toBeLessThan(24 * MiB);
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
      const reservations = Array.from(
        { length: 200 },
        (_, i): Reservation => ({
          id: `r_${i}`,
          uid: `${i}`.padStart(64, 'u'),
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
        }),
      );
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
});
