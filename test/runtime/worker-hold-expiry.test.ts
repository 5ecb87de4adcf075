/**
 * A budget hold ends when its token expires, on Workers as on Node: the isolate's cached budget view (holds summed in
 * 10 s buckets, HOLD_BUCKET_MS) showed a hold until its bucket's end, up to 10 s after the campaign object had let it
 * go, so the next user of a campaign whose budget that hold had filled was refused (`budget`) though the hold was gone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HOLD_BUCKET_MS } from '../../src/store/durable-object/campaign-object.js';
import { makeWorkerService, type WorkerService } from '../helpers/worker.js';

const TTL_S = 2;
let w: WorkerService;
beforeAll(async () => {
  w = await makeWorkerService({ TOKEN_TTL: String(TTL_S) });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('serves the next user as soon as the token whose hold filled the budget has expired', async () => {
  // One impression's worth of budget: alone, a slot clears at the floor, 100 micros.
  const { campaignId } = await w.seedCampaign({
    campaign: { bid: { type: 'cpm', amountMicros: 1_000_000 }, budget: { totalMicros: 100 }, pacing: 'asap' },
  });
  const client = await w.newClient();
  const slots = (user: string) => w.call('POST', '/v1/slots', client.key, { user, statuses: 10, explain: true });
  // Start just after a bucket boundary, so the hold's expiry and the request after it fall in one bucket.
  await sleep(HOLD_BUCKET_MS - (Date.now() % HOLD_BUCKET_MS) + 200);
  const first = await slots('first');
  expect(first.body.slots.map((s: any) => s.ad.campaignId)).toEqual([campaignId]);
  const second = await slots('second');
  expect(second.body.slots).toEqual([]);
  expect(second.body.explain.find((e: any) => e.campaignId === campaignId)).toMatchObject({ reason: 'budget' });
  await sleep(TTL_S * 1000 + 1_000);
  const third = await slots('third');
  expect(third.body.slots.map((s: any) => s.ad.campaignId)).toEqual([campaignId]);
}, 60_000);
