/**
 * An event whose charge the budget in force cut is stored at what it was charged, so the report rows a restart
 * counts again from the events table agree with the spend; a duplicate in the same group does nothing and uses
 * no events rowid. (Kept from session 13's trial of recording the event before its effects, `ev13`: the
 * guard for a cost fixed up after the campaign's side.) Real files; a second store on the same file stands for a
 * restarted process.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import { utcDay } from '../../src/store/utc-day.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { advertiser, campaign, event, reservation, T, TTL } from '../helpers/store-records.js';

const rules = { effect: eventEffect, reportThreshold: 5 };

describe('the SQLite ledger under a budget that cuts a charge', () => {
  const file = sqliteFile('ledger-budget-cut-');

  it('stores a charge the budget cut at what was charged, and a restart counts the report rows from it', async () => {
    const store = file.store();
    const a = advertiser();
    await store.catalog.createAdvertiser(a, 'hash-a');
    // Daily budget 2,500: the third impression at 1,000 is charged 500, the fourth nothing.
    const c = campaign(a.id, { bid: { type: 'cpm', amountMicros: 1_000 }, budget: { dailyMicros: 2_500 } });
    await store.catalog.createCampaign(c);
    const served = Array.from({ length: 4 }, (_, i) =>
      reservation(c, { id: 'crv_1' }, `${i}`.repeat(64), { priceMicros: 1_000, servedAt: T, expiresAt: T + TTL }),
    );
    await store.users.reserve(served);
    // One group: the first three batches, then a duplicate of the first beside the fourth.
    const outcomes = await Promise.all([
      store.ledger.record([event(served[0]), event(served[1])], T + 10, rules),
      store.ledger.record([event(served[2])], T + 10, rules),
      store.ledger.record([event(served[0]), event(served[3])], T + 10, rules),
    ]);
    expect(outcomes.map((o) => o.outcomes.map((x) => x.status))).toEqual([
      ['accepted', 'accepted'],
      ['accepted'],
      ['duplicate', 'accepted'],
    ]);
    const disk = new Database(file.path, { readonly: true });
    const costs = disk.prepare("SELECT cost_micros FROM events WHERE type = 'impression' ORDER BY rowid").pluck().all();
    const spend = disk.prepare('SELECT sum(spend_micros) FROM campaign_spend').pluck().get();
    // Rowids only for events recorded: four rows, numbered one after the other.
    const rowids = disk.prepare('SELECT rowid FROM events ORDER BY rowid').pluck().all() as number[];
    disk.close();
    expect(costs).toEqual([1_000, 1_000, 500, 0]);
    expect(spend).toBe(2_500);
    expect(rowids).toEqual([rowids[0], rowids[0] + 1, rowids[0] + 2, rowids[0] + 3]);

    const day = utcDay(T);
    const [before] = await store.ledger.report(c.id, day, day);
    expect(before).toMatchObject({ impressions: 4, spendMicros: 2_500 });
    // A restart without the rows written (a crash): they are counted again from the events, at their stored cost.
    const restarted = file.store();
    const [after] = await restarted.ledger.report(c.id, day, day);
    expect(after).toMatchObject({ impressions: 4, spendMicros: 2_500 });
    expect((await restarted.ledger.record([event(served[2])], T + 20, rules)).outcomes).toEqual([{ status: 'duplicate' }]);
  });
});
