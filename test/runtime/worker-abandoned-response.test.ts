/**
 * An abandoned slot response inside workerd: Delivery on the isolate's own store (test/helpers/
 * abandoned-response.worker.ts) takes its budget holds in the campaign objects and stores its reservations in the
 * user's object, then a token seal rejects. The holds are given back and the user object's `unreserve` takes the
 * reservations back at once (not left to count toward caps until the token TTL); the places are counted
 * `abandoned`. Budgets split over two shards, so holds and releases go to shard objects too.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker, startLocalWorker } from '../../src/runtime/miniflare.js';
import { SECRET } from '../helpers/service.js';

interface Served {
  error: string | null;
  slots: number;
  seals: number;
  reserved: string[];
  kept: (string | null)[];
  heldMicros: Record<string, number>;
  history: number;
  metrics: string;
}

const counted = (metrics: string, series: string) => Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
const uid = createHash('sha256').update('abandoned-in-workerd').digest('hex');

let dir: string;
let mf: Miniflare;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'status-ads-abandoned-'));
  const scriptPath = join(dir, 'worker.js');
  await bundleWorker(scriptPath, fileURLToPath(new URL('../helpers/abandoned-response.worker.ts', import.meta.url)));
  mf = await startLocalWorker({
    scriptPath,
    bindings: { ADMIN_KEY: 'unused-admin-key', SECRET, CATALOG_REFRESH_MS: '0', LOG_LEVEL: 'warn', BUDGET_MIN_SHARDS: '2' },
    dataDir: join(dir, 'data'),
  });
}, 60_000);
afterAll(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function serve(failAt: number, conflicts = 0, user = uid): Promise<Served> {
  const res = await mf.dispatchFetch('http://abandon.test/', {
    method: 'POST',
    body: JSON.stringify({ uid: user, failAt, conflicts }),
  });
  return (await res.json()) as Served;
}

describe('a slot response abandoned after its holds were taken (workerd)', () => {
  it('gives the holds back, and the user object takes its reservations back at once', async () => {
    // The second seal rejects: every slot's hold and reservation was asked for by then (seals are made once all
    // are answered), and one seal per placed slot was started.
    const abandoned = await serve(2);
    expect(abandoned.error).toBe('the seal was rejected');
    expect(abandoned.seals).toBeGreaterThanOrEqual(2);
    expect(abandoned.reserved.length).toBeGreaterThanOrEqual(abandoned.seals);
    // Read back from the user's object: none of its reservations is left, nor in its history.
    expect(abandoned.kept).toEqual(abandoned.reserved.map(() => null));
    expect(abandoned.history).toBe(0);
    // Every budget shard asked: no hold left.
    for (const [id, held] of Object.entries(abandoned.heldMicros)) expect(held, id).toBe(0);
    // Counted as neither served nor lost: each place given an ad is `abandoned`.
    expect(counted(abandoned.metrics, 'ads_slots_served_total\\{bid_type="cpm"\\}')).toBe(0);
    expect(counted(abandoned.metrics, 'ads_slots_unfilled_total\\{reason="abandoned"\\}')).toBe(abandoned.seals);

    // The same user is then served: what it was answered is held, stored and in its history.
    const served = await serve(0);
    expect(served.error).toBeNull();
    expect(served.slots).toBeGreaterThan(0);
    expect(served.history).toBe(served.slots);
    expect(served.kept.filter((id) => id !== null)).toHaveLength(served.slots);
    expect(Object.values(served.heldMicros).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(counted(served.metrics, 'ads_slots_unfilled_total\\{reason="abandoned"\\}')).toBe(0);
  }, 60_000);
});

describe('a slot response refused as a conflict by the user object and decided again (workerd)', () => {
  const all = (metrics: string, series: string) =>
    [...metrics.matchAll(new RegExp(`^${series}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((t, m) => t + Number(m[1]), 0);
  const places = 3; // statuses: 20 under the default placement rules
  it('counts each place once, from the attempt that answered', async () => {
    const served = await serve(0, 1, createHash('sha256').update('conflict-once').digest('hex'));
    expect(served.error).toBeNull();
    expect(served.slots).toBeGreaterThan(0);
    expect(all(served.metrics, 'ads_slots_served_total')).toBe(served.slots);
    expect(all(served.metrics, 'ads_slots_served_total') + all(served.metrics, 'ads_slots_unfilled_total')).toBe(places);
  }, 60_000);

  it('counts each place once when every attempt conflicts', async () => {
    const served = await serve(0, 3, createHash('sha256').update('conflict-always').digest('hex'));
    expect(served.error).toBeNull();
    expect(served.slots).toBe(0);
    expect(all(served.metrics, 'ads_slots_served_total')).toBe(0);
    expect(counted(served.metrics, 'ads_slots_unfilled_total\\{reason="unavailable"\\}')).toBeGreaterThan(0);
    expect(all(served.metrics, 'ads_slots_unfilled_total')).toBe(places);
  }, 60_000);
});
