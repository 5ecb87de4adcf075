/**
 * End-to-end property over the real service (HTTP in-process, SQLite, user cache):
 * random sequences of slot requests, events, blocks, erasures and clock moves,
 * checked from the outside against caps, the user cap, blocks, hides and placement.
 * The engine properties cover the rules in depth; this checks the wiring keeps them.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/engine/types.js';
import { counted, worstWindow } from '../helpers/engine-model.js';
import { png } from '../helpers/media.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

const TTL_MS = 900_000;
const USER_CAP = { impressions: 4, windowSeconds: 3600 };
const CAPS: Record<number, { impressions: number; windowSeconds: number }[]> = {
  0: [{ impressions: 1, windowSeconds: 600 }],
  1: [{ impressions: 2, windowSeconds: 3600 }],
  2: [],
  3: [
    { impressions: 1, windowSeconds: 86_400 },
    { impressions: 3, windowSeconds: 60 },
  ],
};

let s: TestService;
let clientKey: string;
const campaignCaps = new Map<string, { impressions: number; windowSeconds: number }[]>();
const advertiserIds: string[] = [];
let runId = 0;
const stats = { slots: 0, impressions: 0 };

type Action =
  | { kind: 'slots'; user: number; statuses?: number; runs?: number[] }
  | { kind: 'event'; pick: number; type: 'impression' | 'click' | 'hide' | 'block' | 'report' }
  | { kind: 'block' | 'unblock'; user: number; advertiser: number }
  | { kind: 'erase'; user: number }
  | { kind: 'view'; user: number }
  | { kind: 'advance'; ms: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.oneof(
      fc.record({ kind: fc.constant('slots' as const), user: fc.nat({ max: 2 }), statuses: fc.integer({ min: 0, max: 20 }) }),
      fc.record({
        kind: fc.constant('slots' as const),
        user: fc.nat({ max: 2 }),
        runs: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 8 }),
      }),
    ),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      pick: fc.nat(),
      type: fc.constantFrom('impression', 'impression', 'impression', 'click', 'hide', 'block', 'report') as fc.Arbitrary<
        'impression' | 'click' | 'hide' | 'block' | 'report'
      >,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('block' as const, 'unblock' as const),
      user: fc.nat({ max: 2 }),
      advertiser: fc.nat({ max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('erase' as const), user: fc.nat({ max: 2 }) }) },
  // What a client does most: report impressions for everything in the user's last response.
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('view' as const), user: fc.nat({ max: 2 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 1000, max: 120_000 }),
        fc.integer({ min: TTL_MS, max: 2 * TTL_MS }),
        fc.integer({ min: 3_600_000, max: 7_200_000 }),
      ),
    }),
  },
);

beforeAll(async () => {
  s = await makeService({
    USER_CAP_IMPRESSIONS: String(USER_CAP.impressions),
    USER_CAP_WINDOW_SECONDS: String(USER_CAP.windowSeconds),
    USER_CACHE_SIZE: '1000',
    REPORT_THRESHOLD: '1000',
  });
  clientKey = (await s.newClient()).key;
  for (let a = 0; a < 4; a++) {
    const advertiser = await s.newAdvertiser(`Advertiser ${a}`);
    advertiserIds.push(advertiser.id);
    const seeded = await s.seedCampaign({ advertiser, campaign: { caps: CAPS[a], pacing: 'asap' }, seed: a });
    campaignCaps.set(seeded.campaignId, CAPS[a]);
    // A second creative so rotation and hides have choices.
    const second = await s.upload(advertiser.key, seeded.campaignId, png(90, 160, 100 + a));
    await s.call('POST', `/v1/creatives/${second.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
  }
});

afterAll(async () => {
  await s.close();
  expect(stats.slots).toBeGreaterThan(50);
  expect(stats.impressions).toBeGreaterThan(20);
});

interface Served extends HistoryEntry {
  token: string;
  user: number;
}

async function run(actions: Action[]) {
  const prefix = `run${runId++}-`;
  const users = Array.from({ length: 3 }, () => ({
    history: [] as Served[],
    blocks: new Set<string>(),
    hides: new Set<string>(),
    mutes: new Set<string>(),
  }));
  const served: Served[] = [];
  const lastResponse = new Map<number, Served[]>();
  for (const action of actions) {
    const now = s.clock.now;
    if (action.kind === 'advance') s.clock.advance(action.ms);
    if (action.kind === 'block' || action.kind === 'unblock') {
      const advertiser = advertiserIds[action.advertiser];
      const res = await s.call('POST', `/v1/users/${action.kind}`, clientKey, { user: prefix + action.user, advertiser });
      expect(res.status).toBe(204);
      if (action.kind === 'block') users[action.user].blocks.add(advertiser);
      else users[action.user].blocks.delete(advertiser);
    }
    if (action.kind === 'erase') {
      expect((await s.call('POST', '/v1/users/erase', clientKey, { user: prefix + action.user })).status).toBe(204);
      users[action.user] = { history: [], blocks: new Set(), hides: new Set(), mutes: new Set() };
      lastResponse.delete(action.user);
      for (const entry of served) if (entry.user === action.user) entry.expiresAt = -1; // its tokens now lead nowhere
    }
    const picked =
      action.kind === 'event' && served.length > 0
        ? [{ slot: served[action.pick % served.length], type: action.type }]
        : action.kind === 'view'
          ? (lastResponse.get(action.user) ?? []).map((slot) => ({ slot, type: 'impression' as const }))
          : [];
    if (picked.length > 0) {
      const res = await s.call('POST', '/v1/events', clientKey, {
        events: picked.map(({ slot, type }) => ({ token: slot.token, type })),
      });
      expect(res.status).toBe(200);
      picked.forEach(({ slot, type }, i) => {
        const result = res.body.results[i];
        if (slot.expiresAt <= now) {
          expect(result.status).toBe('rejected');
          return;
        }
        expect(['accepted', 'duplicate']).toContain(result.status);
        const user = users[slot.user];
        if ((type === 'impression' || type === 'click') && !slot.viewed) {
          slot.viewed = true;
          stats.impressions++;
        }
        if (type === 'hide') user.hides.add(slot.creativeId);
        if (type === 'block') user.blocks.add(slot.advertiserId);
      });
    }
    if (action.kind === 'slots') {
      const user = users[action.user];
      const body = action.runs
        ? { user: prefix + action.user, runs: action.runs }
        : { user: prefix + action.user, statuses: action.statuses };
      const res = await s.call('POST', '/v1/slots', clientKey, body);
      expect(res.status).toBe(200);
      const afters: number[] = res.body.slots.map((x: any) => x.after);
      const positions = action.runs
        ? action.runs.map((_, i) => action.runs!.slice(0, i + 1).reduce((a, b) => a + b, 0))
        : Array.from({ length: action.statuses! }, (_, i) => i + 1);
      expect(afters.length).toBeLessThanOrEqual(3);
      afters.forEach((after, i) => {
        expect(positions).toContain(after);
        expect(after).toBeGreaterThanOrEqual(2);
        if (i > 0) expect(after - afters[i - 1]).toBeGreaterThanOrEqual(4);
      });
      lastResponse.set(action.user, []);
      const reserved = new Set(user.history.filter((e) => !e.viewed && e.expiresAt > now).map((e) => e.creativeId));
      expect(new Set(res.body.slots.map((x: any) => x.ad.advertiser.id)).size).toBe(res.body.slots.length);
      for (const slot of res.body.slots) {
        expect(user.blocks.has(slot.ad.advertiser.id)).toBe(false);
        expect(user.hides.has(slot.ad.creativeId)).toBe(false);
        expect(reserved.has(slot.ad.creativeId)).toBe(false);
        const entry: Served = {
          reservationId: slot.token,
          campaignId: slot.ad.campaignId,
          creativeId: slot.ad.creativeId,
          advertiserId: slot.ad.advertiser.id,
          servedAt: now,
          expiresAt: now + TTL_MS,
          viewed: false,
          token: slot.token,
          user: action.user,
        };
        user.history.push(entry);
        served.push(entry);
        lastResponse.get(action.user)!.push(entry);
        stats.slots++;
      }
    }
    // Caps and the user cap hold at every step, as seen from outside.
    for (const user of users) {
      const live = counted(user.history, s.clock.now);
      expect(worstWindow(live, USER_CAP)).toBeLessThanOrEqual(USER_CAP.impressions);
      for (const [campaignId, caps] of campaignCaps) {
        const own = live.filter((e) => e.campaignId === campaignId);
        for (const cap of caps) expect(worstWindow(own, cap)).toBeLessThanOrEqual(cap.impressions);
      }
    }
  }
}

describe('serving through the API (property)', () => {
  it('keeps caps, blocks, hides and placement across random sequences', async () => {
    await fc.assert(fc.asyncProperty(fc.array(actionArb, { minLength: 5, maxLength: 40 }), run), { numRuns: 40 });
  });
});
