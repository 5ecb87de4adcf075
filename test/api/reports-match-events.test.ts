import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReportRow } from '../../src/store/interface.js';
import { makeService } from '../helpers/service.js';

type EventType = 'impression' | 'click' | 'hide' | 'report' | 'block';
const _EVENT_TYPES: EventType[] = ['impression', 'click', 'hide', 'report', 'block'];
const USERS = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon'];

type Action =
  | { kind: 'serve'; user: number }
  | { kind: 'event'; slot: number; type: EventType; twice: boolean }
  | { kind: 'wait'; ms: number };

// Mostly impressions and clicks; hides, reports and blocks also take creatives out of a user's feed.
const eventType = fc.oneof(
  { weight: 4, arbitrary: fc.constant<EventType>('impression') },
  { weight: 3, arbitrary: fc.constant<EventType>('click') },
  { weight: 1, arbitrary: fc.constantFrom<EventType>('hide', 'report', 'block') },
);

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('serve' as const), user: fc.nat(USERS.length - 1) }) },
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('event' as const), slot: fc.nat(), type: eventType, twice: fc.boolean() }),
  },
  // Mostly seconds to minutes; sometimes hours, so sequences cross UTC midnight and outlive tokens.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1000, max: 10 * 60_000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 3600_000, max: 4 * 3600_000 }) }),
  },
);

type Row = ReportRow;
const NO_VIDEO = { videoStarts: 0, videoFirstQuartiles: 0, videoMidpoints: 0, videoThirdQuartiles: 0, videoCompletes: 0 };

const counter: Record<EventType, keyof Row> = {
  impression: 'impressions',
  click: 'clicks',
  hide: 'hides',
  report: 'reports',
  block: 'blocks',
};

describe('GET /v1/reports', () => {
  it('equals what the accepted events say, day by day (UTC), after any sequence of events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 30, maxLength: 50 }), async (actions) => {
        // Starts 90 minutes before UTC midnight.
        const s = await makeService({ USER_CAP_IMPRESSIONS: '1000', REPORT_THRESHOLD: '1000' }, Date.UTC(2026, 10, 25, 22, 30));
        try {
          const cpm = await s.seedCampaign({ seed: 1 });
          const cpc = await s.seedCampaign({
            advertiser: await s.newAdvertiser('Cafe'),
            campaign: { bid: { type: 'cpc', amountMicros: 500_000 } },
            seed: 2,
          });
          const client = await s.newClient();

          // The model: only what the API told us (slots with their prices, event outcomes).
          const slots: {
            token: string;
            campaignId: string;
            bidType: 'cpm' | 'cpc';
            priceMicros: number;
            user: string;
            charged: boolean;
          }[] = [];
          const seen = new Set<string>();
          const expected = new Map<string, Map<string, Row & { date: string; users: Set<string> }>>(); // campaign → day → row
          const rowFor = (campaignId: string, day: string) => {
            const days = expected.get(campaignId) ?? expected.set(campaignId, new Map()).get(campaignId)!;
            const empty = {
              date: day,
              impressions: 0,
              reach: 0,
              clicks: 0,
              hides: 0,
              reports: 0,
              blocks: 0,
              spendMicros: 0,
              ...NO_VIDEO,
              users: new Set<string>(),
            };
            return days.get(day) ?? days.set(day, empty).get(day)!;
          };

          for (const a of actions) {
            if (a.kind === 'wait') {
              s.clock.advance(a.ms);
            } else if (a.kind === 'serve') {
              const res = await s.call('POST', '/v1/slots', client.key, { user: USERS[a.user], statuses: 10, explain: true });
              expect(res.status).toBe(200);
              for (const slot of res.body.slots) {
                const served = res.body.explain.find((e: any) => e.campaignId === slot.ad.campaignId && e.outcome === 'served');
                const bidType = slot.ad.campaignId === cpm.campaignId ? 'cpm' : 'cpc';
                slots.push({
                  token: slot.token,
                  campaignId: slot.ad.campaignId,
                  bidType,
                  priceMicros: served.priceMicros,
                  user: USERS[a.user],
                  charged: false,
                });
              }
            } else if (slots.length > 0) {
              // Mostly one of the latest slots (still live); sometimes an old one (expired by now).
              const slot =
                a.slot % 4 === 0 ? slots[a.slot % slots.length] : slots[slots.length - 1 - (a.slot % Math.min(slots.length, 5))];
              const batch = Array.from({ length: a.twice ? 2 : 1 }, () => ({ token: slot.token, type: a.type }));
              const res = await s.call('POST', '/v1/events', client.key, { events: batch });
              expect(res.status).toBe(200);
              for (const result of res.body.results) {
                const key = `${slot.token}/${a.type}`;
                if (result.status !== 'accepted') {
                  if (result.status === 'duplicate') expect(seen.has(key)).toBe(true);
                  continue;
                }
                expect(seen.has(key)).toBe(false);
                seen.add(key);
                const row = rowFor(slot.campaignId, new Date(s.clock.now).toISOString().slice(0, 10));
                (row[counter[a.type]] as number)++;
                if (a.type === 'impression') row.users.add(slot.user);
                const billable =
                  (a.type === 'impression' && slot.bidType === 'cpm') || (a.type === 'click' && slot.bidType === 'cpc');
                if (billable && !slot.charged) {
                  row.spendMicros += slot.priceMicros;
                  slot.charged = true;
                }
              }
            }
          }

          for (const { campaignId, advertiser } of [cpm, cpc]) {
            const res = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=2026-11-01&to=2026-12-31`, advertiser.key);
            expect(res.status).toBe(200);
            const want = [...(expected.get(campaignId)?.values() ?? [])].sort((x, y) => x.date.localeCompare(y.date));
            expect(res.body.rows.map((r: Row) => ({ ...r, reach: 0 }))).toEqual(
              want.map(({ users: _, ...r }) => ({ ...r, reach: 0 })),
            );
            // Reach is a sketch; with a handful of users it is exact unless two ids share a register.
            res.body.rows.forEach((r: Row, i: number) => expect(Math.abs(r.reach - want[i].users.size)).toBeLessThanOrEqual(1));
          }
          // Each advertiser sees only its own campaign's rows.
          expect(
            (await s.call('GET', `/v1/reports?campaign=${cpm.campaignId}&from=2026-11-01&to=2026-12-31`, cpc.advertiser.key))
              .status,
          ).toBe(404);
        } finally {
          await s.close();
        }
      }),
      { numRuns: 10 },
    );
  });

  it('filters by date range and validates it', async () => {
    const s = await makeService();
    try {
      const { campaignId, advertiser } = await s.seedCampaign();
      const client = await s.newClient();
      for (let day = 0; day < 3; day++) {
        const slots = await s.call('POST', '/v1/slots', client.key, { user: `u${day}`, statuses: 10 });
        await s.call('POST', '/v1/events', client.key, { events: [{ token: slots.body.slots[0].token, type: 'impression' }] });
        s.clock.advance(24 * 3600_000);
      }
      const all = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=2026-11-25&to=2026-11-27`, advertiser.key);
      expect(all.body.rows.map((r: Row) => [r.date, r.impressions, r.reach])).toEqual([
        ['2026-11-25', 1, 1],
        ['2026-11-26', 1, 1],
        ['2026-11-27', 1, 1],
      ]);
      const one = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=2026-11-26&to=2026-11-26`, advertiser.key);
      expect(one.body.rows.map((r: Row) => r.date)).toEqual(['2026-11-26']);
      for (const query of ['from=2026-11-27&to=2026-11-25', 'from=2026-11-25', 'from=25.11.2026&to=2026-11-27']) {
        const bad = await s.call('GET', `/v1/reports?campaign=${campaignId}&${query}`, advertiser.key);
        expect(bad.status).toBe(400);
      }
    } finally {
      await s.close();
    }
  });
});
