/**
 * Memory bound of the per-user cache: load far more distinct users than the
 * cache holds (each with a few reservations, a block) through the real SQLite
 * user store, and measure the heap; it must track the cache size, not the users.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as t from '../schema/tables.js';
import { openDatabase } from '../src/store/sqlite/db.js';
import { createSqliteStore } from '../src/store/sqlite/index.js';
import type { SqliteUsers } from '../src/store/sqlite/users.js';
import { BENCH_START } from './engine.js';
import { heapUsedBytes, progress } from './stats.js';

export interface MemoryPoint {
  userCacheSize: number;
  distinctUsers: number;
  cacheEntries: number;
  heapGrowthMB: number;
}

// Hashed, as pseudonyms are: the store keys a user's rows by its uid's leading hex digits (`uidKey`).
const uid = (i: number) => createHash('sha256').update(`mem-user-${i}`).digest('hex');

export async function runMemoryBound(cacheSizes: number[], usersPerCacheSize: number[]): Promise<MemoryPoint[]> {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-mem-'));
  try {
    const path = join(dir, 'ads.db');
    const maxUsers = Math.max(...usersPerCacheSize);
    const { db, sqlite } = openDatabase(path);
    sqlite.pragma('synchronous = OFF'); // seeding only
    sqlite.transaction(() => {
      for (let i = 0; i < maxUsers; i += 200) {
        const rows = [];
        for (let u = i; u < Math.min(maxUsers, i + 200); u++) {
          for (let k = 0; k < 3; k++) {
            rows.push({
              id: `r_${u}_${k}`,
              uid: uid(u),
              campaignId: `cmp_${(u + k) % 5000}`,
              creativeId: `cmp_${(u + k) % 5000}_cr0`,
              advertiserId: `adv_${(u + k) % 2000}`,
              bidType: 'cpm' as const,
              priceMicros: 1500,
              servedAt: BENCH_START - 60_000,
              expiresAt: BENCH_START + 840_000,
              viewedAt: k === 0 ? BENCH_START - 50_000 : null,
              chargedAt: null,
            });
          }
        }
        db.insert(t.reservations).values(rows).run();
      }
    })();
    sqlite.close();

    const points: MemoryPoint[] = [];
    for (const size of cacheSizes) {
      for (const users of usersPerCacheSize) {
        const store = createSqliteStore({ path, userCacheSize: size });
        const before = heapUsedBytes();
        for (let i = 0; i < users; i++) await store.users.load(uid(i), BENCH_START, 3_600_000);
        const after = heapUsedBytes();
        const cache = (store.users as SqliteUsers).cache;
        points.push({
          userCacheSize: size,
          distinctUsers: users,
          cacheEntries: cache.size,
          heapGrowthMB: Math.round(((after - before) / 2 ** 20) * 10) / 10,
        });
        progress(
          `  memory: cache ${size}, ${users} distinct users → ${cache.size} cached, heap +${points.at(-1)!.heapGrowthMB} MB`,
        );
        await store.close();
      }
    }
    return points;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
