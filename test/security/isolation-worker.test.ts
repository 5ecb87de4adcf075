/**
 * The same route × key-kind table as isolation.test.ts, against the Worker
 * bundle in workerd (Miniflare): D1, Durable Objects and R2 must enforce
 * tenancy exactly as Node does. Also: failed-authentication throttling keyed
 * by CF-Connecting-IP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRow, ISOLATION_TABLE, seedWorld, type World } from '../helpers/isolation.js';
import { makeWorkerService, type WorkerService } from '../helpers/worker.js';

const LIMIT = 60;

describe('tenant isolation on Workers: every route × every key kind', () => {
  let w: World<WorkerService>;
  beforeAll(async () => {
    // The table sends 42 bad keys from Miniflare's one address; the limit leaves room for them.
    w = await seedWorld(await makeWorkerService({ AUTH_FAILURE_LIMIT: String(LIMIT) }));
  }, 60_000);
  afterAll(() => w?.s.close());

  it.each(ISOLATION_TABLE)('$route.name ($route.method) with $kind key → $status', (row) => checkRow(w, row));

  it('throttles failed authentication per CF-Connecting-IP', async () => {
    const attempt = (ip: string, key: string) =>
      w.s.request('/v1/me', { headers: { Authorization: `Bearer ${key}`, 'CF-Connecting-IP': ip } });
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await attempt('203.0.113.50', `sk_adv_guess_${i}`)).status);
    expect(statuses.slice(0, LIMIT).every((x) => x === 401)).toBe(true);
    expect(statuses[LIMIT]).toBe(429);
    expect(Number((await attempt('203.0.113.50', 'sk_adv_guess_more')).headers.get('retry-after'))).toBeGreaterThan(0);
    // A valid key is never refused for others' failures from its address.
    expect((await attempt('203.0.113.50', w.a.key)).status).toBe(200);
    expect((await attempt('203.0.113.51', 'sk_adv_guess_elsewhere')).status).toBe(401);
  });
});
