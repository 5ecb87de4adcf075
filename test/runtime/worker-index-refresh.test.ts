/**
 * The isolate's catalog index inside workerd. workerd cancels a request's outstanding I/O once the request has
 * answered, and runs a promise's callbacks in the context of the request whose I/O settled it. So an index rebuild
 * that one request starts and another waits on can be cancelled under the waiter: an events batch that found the CTR
 * refresh due started a rebuild and answered without waiting for it; the rebuild never settled, every later request
 * (each checks the index first, /healthz included) waited on it, and the Worker never answered again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeWorkerService, type WorkerService } from '../helpers/worker.js';

let w: WorkerService;
beforeAll(async () => {
  // Every request checks the catalog version, and every events batch finds the CTR refresh due.
  w = await makeWorkerService({ CATALOG_REFRESH_MS: '0', CTR_REFRESH_MS: '0' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** The answer's status, or 'no answer' when none came within `ms`. */
async function statusWithin(path: string, init: RequestInit, ms: number): Promise<number | 'no answer'> {
  try {
    const res = await w.request(path, { ...init, signal: AbortSignal.timeout(ms) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'no answer';
  }
}

it('keeps answering after events batches and catalog writes that rebuild the index', async () => {
  const { advertiser } = await w.seedCampaign();
  const client = await w.newClient();
  const feed = (path: string, body: unknown) =>
    statusWithin(
      path,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${client.key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      },
      10_000,
    );
  for (let round = 0; round < 12; round++) {
    const served = await w.call('POST', '/v1/slots', client.key, { user: `user-${round}`, statuses: 10 });
    expect(served.status).toBe(200);
    const token = served.body.slots[0].token;
    // The events batch answers at once; then requests of every kind, some at the same time as a catalog write.
    expect(await feed('/v1/events', { events: [{ token, type: 'impression' }] })).toBe(200);
    const after = await Promise.all([
      feed('/v1/slots', { user: `other-${round}`, statuses: 10 }),
      feed('/v1/events', { events: [{ token, type: 'click' }] }),
      statusWithin(
        '/v1/me',
        {
          method: 'PATCH',
          headers: { Authorization: `Bearer ${advertiser.key}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ description: `round ${round}` }),
        },
        10_000,
      ),
      statusWithin('/healthz', {}, 10_000),
    ]);
    expect(after).toEqual([200, 200, 200, 200]);
  }
}, 300_000);
