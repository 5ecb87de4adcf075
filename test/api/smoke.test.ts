import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeService, type TestService } from '../helpers/service.js';

describe('walk-through', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService();
  });
  afterEach(() => s.close());

  it('serves an approved creative and counts its impression once', async () => {
    const { campaignId } = await s.seedCampaign();
    const client = await s.newClient();
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'alice', statuses: 10 });
    expect(slots.status).toBe(200);
    expect(slots.body.slots).toHaveLength(1);
    expect(slots.body.slots[0].ad.campaignId).toBe(campaignId);
    const token = slots.body.slots[0].token;
    const events = await s.call('POST', '/v1/events', client.key, {
      events: [
        { token, type: 'impression' },
        { token, type: 'impression' },
      ],
    });
    expect(events.body.results.map((r: any) => r.status)).toEqual(['accepted', 'duplicate']);
  });
});
