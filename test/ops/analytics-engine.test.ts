/**
 * The Workers metrics adapter: Analytics Engine is not available in workerd
 * through Miniflare 3, so the dataset here is an in-memory one with the binding's
 * shape, driven by the real delivery over the in-process service (no mock of
 * what runs: only the cloud sink is replaced).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsEngineMetrics } from '../../src/ops/analytics-engine.js';
import { makeService, type TestService } from '../helpers/service.js';

const points: { blobs?: string[]; doubles?: number[]; indexes?: string[] }[] = [];
let s: TestService;
beforeAll(async () => {
  s = await makeService({}, undefined, { metrics: analyticsEngineMetrics({ writeDataPoint: (p) => void points.push(p) }) });
});
afterAll(() => s.close());

describe('Analytics Engine metrics', () => {
  it('writes one data point per request, slot outcome and event, in the documented layout', async () => {
    const client = await s.newClient();
    await s.seedCampaign();
    points.length = 0;
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u1', statuses: 10 });
    expect(slots.body.slots).toHaveLength(1);
    await s.call('POST', '/v1/events', client.key, {
      events: [
        { token: slots.body.slots[0].token, type: 'impression' },
        { token: 'x', type: 'click' },
        { token: 'y', type: 'click' },
      ],
    });
    const kinds = points.map((p) => p.blobs!.slice(0, 3).join('/'));
    expect(kinds).toEqual(
      expect.arrayContaining([
        'slot_request',
        'slot_served/cpm',
        'slot_unfilled/no_candidate',
        'event/impression/accepted',
        'event/click/invalid_token',
        'request//v1/slots/200',
        'request//v1/events/200',
      ]),
    );
    expect(points.find((p) => p.blobs![0] === 'slot_unfilled')!.doubles).toEqual([2]);
    // A run of events of one type and outcome is one data point counting them.
    const invalidClicks = points.filter((p) => p.blobs!.join('/') === 'event/click/invalid_token');
    expect(invalidClicks.map((p) => p.doubles)).toEqual([[2]]);
    expect(points.every((p) => p.indexes![0] === p.blobs![0])).toBe(true);
    // Never a user id or a token in a data point.
    expect(JSON.stringify(points)).not.toContain('u1');
    expect(JSON.stringify(points)).not.toContain(slots.body.slots[0].token);
  });
});
