/**
 * The WAL's operability on the real server (`npm start`, the store on the engine thread): `WAL_RESTART_MB` sets when
 * the commits are held for a restart, and the holds, the WAL's size and the checkpointer's errors reach GET /metrics
 * across the engine thread.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { readSettings } from '../../src/config.js';
import { png } from '../helpers/media.js';
import { ADMIN, http, type RealServer, removeDir, seed, startServer, stopServer } from '../helpers/server.js';

let server: RealServer | undefined;
afterEach(async () => {
  await stopServer(server);
  removeDir(server?.dir);
  server = undefined;
});

async function scrape(s: RealServer): Promise<(series: string) => number | undefined> {
  const res = await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  expect(res.status).toBe(200);
  const text = await res.text();
  return (series) => {
    const found = new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
    return found ? Number(found[1]) : undefined;
  };
}

describe('WAL_RESTART_MB', () => {
  it('is 32 MiB by default, at least 1, a whole number', () => {
    expect(readSettings({}).walRestartMb).toBe(32);
    expect(readSettings({ WAL_RESTART_MB: '128' }).walRestartMb).toBe(128);
    for (const bad of ['0', '4097', '1.5', 'lots'])
      expect(() => readSettings({ WAL_RESTART_MB: bad })).toThrow(
        `WAL_RESTART_MB must be an integer between 1 and 4096, got "${bad}"`,
      );
  });
});

describe('the WAL on GET /metrics', () => {
  it('holds the commits for a restart past WAL_RESTART_MB; holds, size and errors cross from the engine thread', async () => {
    server = await startServer({ env: { WAL_RESTART_MB: '1' } });
    const ids = await seed(server, png(90, 160, 4), { pacing: 'asap' });
    let value = await scrape(server);
    // Both reasons' series from the start (an alert's rate is 0, not absent).
    expect(value('ads_store_wal_hold_seconds_count{reason="restart"}')).toBe(0);
    expect(value('ads_store_wal_hold_seconds_count{reason="truncate"}')).toBe(0);
    expect(value('ads_store_wal_checkpoint_errors_total')).toBe(0);
    // A reader's open transaction: the WAL cannot restart by itself between the bursts below (SQLite restarts it when a
    // write finds every frame copied), so it grows until a pass leaves 1 MiB and the commits are held.
    const reader = new Database(join(server.dir, 'ads.db'), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM reservations').get();
    // Slot requests of new users (a reservation each, ~1.5 KB of WAL) until a checkpoint pass saw 1 MiB; at the
    // default 32 MiB none of these requests would make a restart.
    let users = 0;
    while (!value('ads_store_wal_hold_seconds_count{reason="restart"}') && users < 4000) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          http(server!, 'POST', '/v1/slots', ids.clientKey, { user: `wal-user-${users++}`, statuses: 10 }),
        ),
      );
      for (const answer of answers) expect(answer.status).toBe(200);
      value = await scrape(server);
    }
    expect(value('ads_store_wal_hold_seconds_count{reason="restart"}')).toBeGreaterThan(0);
    expect(value('ads_store_wal_bytes')).toBeGreaterThan(2 ** 20);
    reader.exec('COMMIT');
    reader.close();

    // An erasure empties the WAL with the commits held.
    expect((await http(server, 'POST', '/v1/users/erase', ids.clientKey, { user: 'wal-user-0' })).status).toBe(204);
    value = await scrape(server);
    expect(value('ads_store_wal_hold_seconds_count{reason="truncate"}')).toBeGreaterThanOrEqual(1);
    expect(value('ads_store_wal_hold_seconds_sum{reason="truncate"}')).toBeGreaterThan(0);
    expect(value('ads_store_wal_bytes')).toBeLessThan(2 ** 20);
    expect(value('ads_store_wal_checkpoint_errors_total')).toBe(0);
  }, 120_000);
});
