/**
 * Concurrent slot requests of one user in one isolate. Delivery serialises them per user; in
 * workerd a waiter must resume in its own request's context, or its Durable Object calls fail
 * ("Cannot perform I/O on behalf of a different request") and it serves no ad.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, makeWorkerService } from '../helpers/worker.js';

let w: Awaited<ReturnType<typeof makeWorkerService>>;
beforeAll(async () => {
  w = await makeWorkerService();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

describe('one user, many requests at once, on the Worker', () => {
  it('every request is answered from its own context: none fails closed as "unavailable"', async () => {
    const client = await w.newClient();
    for (let i = 0; i < 3; i++) await w.seedCampaign({ seed: 700 + i });
    const users = Array.from({ length: 40 }, (_, i) => `same-user-${i}`);
    const answers = await Promise.all(
      users.flatMap((user) => Array.from({ length: 6 }, () => w.call('POST', '/v1/slots', client.key, { user, statuses: 10 }))),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    const metrics = await (await w.request('/metrics', { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
    const unavailable = /ads_slots_unfilled_total\{reason="unavailable"\} (\d+)/.exec(metrics);
    expect(unavailable, metrics.slice(0, 2000)).not.toBeNull();
    expect(Number(unavailable![1])).toBe(0);
    // Each user got an ad on its first answered request at least.
    expect(answers.filter((a) => a.body.slots.length > 0).length).toBeGreaterThanOrEqual(users.length);
  }, 60_000);
});
