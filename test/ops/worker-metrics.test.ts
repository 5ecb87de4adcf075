/**
 * GET /metrics on the Worker in workerd: the isolate's own counters in the
 * Prometheus text format, readable with the operator key or METRICS_TOKEN, and
 * matching what the API answered (locally one isolate serves every request).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, makeWorkerService, type WorkerService } from '../helpers/worker.js';

const METRICS_TOKEN = 'worker-metrics-token';
let w: WorkerService;
beforeAll(async () => {
  w = await makeWorkerService({ METRICS_TOKEN });
}, 60_000);
afterAll(() => w.close());

async function scrape(key: string) {
  const res = await w.request('/metrics', { headers: { Authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  return (line: string) => Number(new RegExp(`^${line.replace(/[{}"$.+]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

describe('GET /metrics on Workers', () => {
  it('needs the operator key or METRICS_TOKEN', async () => {
    expect((await w.call('GET', '/metrics', undefined)).status).toBe(401);
    const client = await w.newClient();
    expect((await w.call('GET', '/metrics', client.key)).status).toBe(403);
    await scrape(METRICS_TOKEN);
    await scrape(ADMIN_KEY);
  });

  it('counts slots, unfilled places and events as the API answered them', async () => {
    const client = await w.newClient();
    await w.seedCampaign();
    const before = await scrape(ADMIN_KEY);
    const slots = await w.call('POST', '/v1/slots', client.key, { user: 'w1', statuses: 10 });
    expect(slots.body.slots).toHaveLength(1);
    const events = await w.call('POST', '/v1/events', client.key, {
      events: [
        { token: slots.body.slots[0].token, type: 'impression' },
        { token: slots.body.slots[0].token, type: 'impression' },
        { token: 'forged', type: 'click' },
        { token: 'forged', type: 'click' },
      ],
    });
    expect(events.body.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'duplicate',
      'rejected',
      'rejected',
    ]);
    const after = await scrape(ADMIN_KEY);
    const delta = (line: string) => after(line) - before(line);
    expect(delta('ads_slot_requests_total')).toBe(1);
    expect(delta('ads_slots_served_total{bid_type="cpm"}')).toBe(1);
    expect(delta('ads_slots_unfilled_total{reason="no_candidate"}')).toBe(2);
    expect(delta('ads_events_total{type="impression",outcome="accepted"}')).toBe(1);
    expect(delta('ads_events_total{type="impression",outcome="duplicate"}')).toBe(1);
    // Two equal events in a row are one run, counted by its length.
    expect(delta('ads_events_total{type="click",outcome="invalid_token"}')).toBe(2);
    expect(delta('http_request_duration_seconds_count{route="/v1/slots",method="POST",status="200"}')).toBe(1);
  });
});
