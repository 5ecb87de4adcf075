/**
 * Events keyed by the reservation's number (migration 0009): SQLite numbers each reservation as it
 * stores it, the token seals the number beside the id, and the ledger reads the reservation and keys
 * its events by it. A token sealed before numbers (no number) is read by its id. Real files; a
 * second store on the same file stands for a restarted process, a database left at migration 0008
 * for one written by the previous version.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { describe, expect, it, vi } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { EventType } from '../../src/engine/types.js';
import { TokenSigner } from '../../src/privacy/token.js';
import type { HandleEvent, LedgerEvent, Reservation, Store, VerifiedEvent } from '../../src/store/interface.js';
import { migrationsFolder } from '../../src/store/sqlite/db.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot, T, TTL } from '../helpers/store-records.js';

const rules = { effect: eventEffect, reportThreshold: 5 };
const CAMPAIGN = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm' as const, amountMicros: 1000 } };

const slot = (id: string, uid: string) => servedSlot(CAMPAIGN, { id: 'crv_1' }, uid, { id, servedAt: T, expiresAt: T + TTL });

/** The event as a token names it: with the number where it carries one (`withNumber`), else by id alone (sealed before numbers). */
function event(r: Reservation, type: EventType, withNumber = true): VerifiedEvent {
  const e: VerifiedEvent = { type, reservationId: r.id, uid: r.uid, campaignId: r.campaignId, creativeId: r.creativeId };
  if (withNumber) e.reservationNumber = r.number;
  return e;
}

const statusOf = async (s: Store, e: LedgerEvent, at = T + 100) => {
  const { outcomes } = await s.ledger.record([e], at, rules);
  return outcomes[0];
};

describe('events by reservation number (SQLite)', () => {
  const db = sqliteFile('events-by-number-');

  it('numbers reservations in serving order, and a token with the number or without it names the same events', async () => {
    const s = db.store();
    // One user, campaign and creative: only the id tells the two reservations apart.
    const [a, b] = [slot('r_a', 'a'.repeat(64)), slot('r_b', 'a'.repeat(64))];
    await s.users.reserve([a]);
    await s.users.reserve([b]);
    expect(a.number).toBeGreaterThan(0);
    expect(b.number).toBe((a.number as number) + 1);
    expect(await statusOf(s, event(a, 'impression'))).toEqual({ status: 'accepted' });
    // The same (reservation, type) on a token sealed before numbers: the same event.
    expect(await statusOf(s, event(a, 'impression', false))).toEqual({ status: 'duplicate' });
    expect(await statusOf(s, event(a, 'click', false))).toEqual({ status: 'accepted' });
    expect(await statusOf(s, event(a, 'click'))).toEqual({ status: 'duplicate' });
    // Another reservation's number with this one's id (or the reverse) names no reservation.
    expect(await statusOf(s, { ...event(a, 'hide'), reservationNumber: b.number })).toEqual({
      status: 'rejected',
      reason: 'unknown_reservation',
    });
    expect(await statusOf(s, event(b, 'impression'))).toEqual({ status: 'accepted' });
  });

  it('a handle names its reservation by number and expiry: the row gives the rest; another expiry names none', async () => {
    const s = db.store();
    const r = servedSlot(CAMPAIGN, { id: 'crv_1' }, 'h'.repeat(64), { id: 'r_handle', servedAt: T, expiresAt: T + TTL + 7 });
    await s.users.reserve([r]);
    const handle = (type: EventType, expiresAt = r.expiresAt): HandleEvent => ({
      type,
      reservationNumber: r.number as number,
      expiresAt,
    });
    expect(await statusOf(s, handle('impression'))).toEqual({ status: 'accepted' });
    expect(await statusOf(s, handle('impression'))).toEqual({ status: 'duplicate' });
    // The same (reservation, type) named by sealed claims (a token in flight across the upgrade): the same event.
    expect(await statusOf(s, event(r, 'impression'))).toEqual({ status: 'duplicate' });
    for (const expiresAt of [r.expiresAt + 1, r.expiresAt - 1, T]) {
      expect(await statusOf(s, handle('click', expiresAt))).toEqual({ status: 'rejected', reason: 'unknown_reservation' });
    }
    expect(await statusOf(s, { ...handle('click'), reservationNumber: (r.number as number) + 1000 })).toEqual({
      status: 'rejected',
      reason: 'unknown_reservation',
    });
    expect(await statusOf(s, handle('click'))).toEqual({ status: 'accepted' });
    expect(await statusOf(s, handle('block'))).toEqual({ status: 'accepted' });
    // What the events did is the row's: its user and campaign on the event rows, its advertiser blocked for its user.
    const file = new Database(db.path, { readonly: true });
    try {
      const rows = file
        .prepare('SELECT type, uid, campaign_id AS campaignId FROM events WHERE reservation = ? ORDER BY rowid')
        .all(r.number);
      expect(rows).toEqual(['impression', 'click', 'block'].map((type) => ({ type, uid: r.uid, campaignId: 'cmp_1' })));
    } finally {
      file.close();
    }
    expect(await s.users.blocks(r.uid)).toEqual(['adv_1']);
    // "Why this ad" reads the reservation the same way.
    expect(await s.users.numbered?.(r.number as number, r.expiresAt)).toMatchObject({
      id: 'r_handle',
      uid: r.uid,
      campaignId: 'cmp_1',
    });
    expect(await s.users.numbered?.(r.number as number, r.expiresAt + 1)).toBeUndefined();
  });

  it('a duplicate after a restart is still a duplicate, with or without the number', async () => {
    const r = slot('r_restart', 'c'.repeat(64));
    await db.store().users.reserve([r]);
    expect(await statusOf(db.store(), event(r, 'impression'))).toEqual({ status: 'accepted' });
    await db.closeAll();
    const restarted = db.store();
    expect(await statusOf(restarted, event(r, 'impression'))).toEqual({ status: 'duplicate' });
    expect(await statusOf(restarted, event(r, 'impression', false))).toEqual({ status: 'duplicate' });
    expect(await statusOf(restarted, event(r, 'click'))).toEqual({ status: 'accepted' });
  });

  it('a number is never given again, after an erasure or a restart: the tokens of an erased reservation name nothing', async () => {
    const s = db.store();
    // One pseudonym, campaign, creative, serving time and expiry (a frozen clock): only the number tells them apart.
    const handle = (r: Reservation, type: EventType): HandleEvent => ({
      type,
      reservationNumber: r.number as number,
      expiresAt: r.expiresAt,
    });
    const erased = slot('r_erased', 'd'.repeat(64));
    await s.users.reserve([erased]);
    expect(await statusOf(s, handle(erased, 'impression'))).toEqual({ status: 'accepted' });
    await s.users.erase(erased.uid);
    // SQLite alone would number the next row after the highest left: the erased reservation's number again.
    const next = slot('r_next', erased.uid);
    await s.users.reserve([next]);
    expect(next.number).toBe((erased.number as number) + 1);
    await s.users.erase(next.uid);
    await db.closeAll();
    const restarted = db.store();
    const third = slot('r_third', erased.uid);
    await restarted.users.reserve([third]);
    expect(third.number).toBeGreaterThan(next.number as number);
    for (const gone of [erased, next]) {
      for (const e of [
        handle(gone, 'click'),
        handle(gone, 'impression'),
        event(gone, 'impression'),
        event(gone, 'impression', false),
      ]) {
        expect(await statusOf(restarted, e)).toEqual({ status: 'rejected', reason: 'unknown_reservation' });
      }
      expect(await restarted.users.numbered?.(gone.number as number, gone.expiresAt)).toBeUndefined();
    }
    expect(await statusOf(restarted, handle(third, 'impression'))).toEqual({ status: 'accepted' });
  });

  it('a number taken back or pruned is not given again after a restart, even with the clock standing still', async () => {
    // The clock stands still: only the mark the deletions wrote keeps a restart past their numbers.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T);
    try {
      for (const remove of ['unreserve', 'prune'] as const) {
        const s = db.store();
        const [kept, gone] = [slot(`r_kept_${remove}`, 'e'.repeat(64)), slot(`r_gone_${remove}`, 'f'.repeat(64))];
        if (remove === 'prune') Object.assign(gone, { servedAt: T - 2 * TTL, expiresAt: T - TTL });
        await s.users.reserve([kept]);
        await s.users.reserve([gone]);
        if (remove === 'unreserve') await s.users.unreserve(gone.uid, [gone.id]);
        else await s.prune(T, TTL);
        await db.closeAll();
        const next = slot(`r_next_${remove}`, 'g'.repeat(64));
        await db.store().users.reserve([next]);
        await db.closeAll();
        expect(next.number, remove).toBe((gone.number as number) + 1);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('a file restored from a backup does not give again the numbers given after the backup', async () => {
    await db.store().users.reserve([slot('r_before', 'h'.repeat(64))]);
    await db.closeAll();
    const backup = `${db.path}.backup`;
    cpSync(db.path, backup);
    const s = db.store();
    const after = slot('r_after', 'h'.repeat(64));
    await s.users.reserve([after]);
    await db.closeAll();
    cpSync(backup, db.path);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const restored = db.store();
    expect(
      await statusOf(restored, { type: 'impression', reservationNumber: after.number as number, expiresAt: after.expiresAt }),
    ).toEqual({
      status: 'rejected',
      reason: 'unknown_reservation',
    });
    const next = slot('r_next', 'h'.repeat(64));
    await restored.users.reserve([next]);
    expect(next.number).toBeGreaterThan(after.number as number);
  });

  it('migrates a database of the previous version: numbers are the old rowids, events keep their rowids and count as before', async () => {
    // The previous version's schema: the migrations up to 0008.
    const folder = join(db.path, '..', 'migrations-0008');
    mkdirSync(join(folder, 'meta'), { recursive: true });
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
      entries: { idx: number; tag: string }[];
    };
    journal.entries = journal.entries.filter((e) => e.idx <= 8);
    writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify(journal));
    for (const { tag } of journal.entries) cpSync(join(migrationsFolder, `${tag}.sql`), join(folder, `${tag}.sql`));
    const old = new Database(db.path);
    migrate(drizzle({ client: old }), { migrationsFolder: folder });
    const insert = old.prepare(
      `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at)
       VALUES (?, ?, 'cmp_1', 'crv_1', 'adv_1', 'cpm', 1000, ?, ?)`,
    );
    const uid = 'f'.repeat(64);
    for (const id of ['r_1', 'r_2', 'r_3']) insert.run(id, uid, T, T + TTL);
    old.prepare(`DELETE FROM reservations WHERE id = 'r_1'`).run();
    old
      .prepare(
        `INSERT INTO events (rowid, reservation_id, type, uid, campaign_id, at, cost_micros) VALUES (?, ?, ?, ?, 'cmp_1', ?, ?)`,
      )
      .run(7, 'r_3', 'impression', uid, T + 10, 1000);
    // An event whose reservation is gone (an older version's row): kept under a key no reservation has.
    old
      .prepare(
        `INSERT INTO events (rowid, reservation_id, type, uid, campaign_id, at, cost_micros) VALUES (?, ?, ?, ?, 'cmp_1', ?, ?)`,
      )
      .run(9, 'r_gone', 'report', uid, T + 20, 0);
    old.prepare(`INSERT INTO ledger_marks (name, value) VALUES ('events_by_reservation', 1), ('report_rows', 9)`).run();
    old.close();

    const s = db.store();
    const file = new Database(db.path, { readonly: true });
    expect(file.prepare('SELECT number, id FROM reservations ORDER BY number').all()).toEqual([
      { number: 2, id: 'r_2' },
      { number: 3, id: 'r_3' },
    ]);
    expect(file.prepare('SELECT rowid, reservation, type FROM events ORDER BY rowid').all()).toEqual([
      { rowid: 7, reservation: 3, type: 'impression' },
      { rowid: 9, reservation: -9, type: 'report' },
    ]);
    file.close();
    // Tokens sealed before the upgrade carry no number: read by id, their recorded events are duplicates.
    const r3 = { ...slot('r_3', uid), number: undefined };
    expect(await statusOf(s, event(r3, 'impression', false))).toEqual({ status: 'duplicate' });
    expect(await statusOf(s, event(r3, 'click', false))).toEqual({ status: 'accepted' });
    expect(await statusOf(s, event({ ...r3, number: 3 }, 'click'))).toEqual({ status: 'duplicate' });
    // The reservations served after it are numbered past the old ones; events' rowids go on past the old ones.
    const fresh = slot('r_fresh', uid);
    await s.users.reserve([fresh]);
    expect(fresh.number).toBeGreaterThan(3);
    expect(await statusOf(s, event(fresh, 'impression'))).toEqual({ status: 'accepted' });
    const after = new Database(db.path, { readonly: true });
    expect(after.prepare('SELECT max(rowid) FROM events').pluck().get()).toBe(11);
    after.close();
  });
});

describe('slot tokens and the reservation number', () => {
  const claims = { reservationId: 'r_1', clientId: 'cli_1', uid: 'u'.repeat(64), campaignId: 'cmp_1', creativeId: 'crv_1' };

  it('carry the number beside the id, and a token sealed without one (before numbers) still opens', async () => {
    const signer = new TokenSigner('secret');
    const expiresAt = T + TTL;
    const numbered = await signer.sign({ ...claims, expiresAt, reservationNumber: 42 });
    expect(await signer.verify(numbered, T)).toEqual({ ok: true, claims: { ...claims, expiresAt, reservationNumber: 42 } });
    const before = await signer.sign({ ...claims, expiresAt });
    expect(await signer.verify(before, T)).toEqual({ ok: true, claims: { ...claims, expiresAt } });
    // A number that is not a whole number is no claim a server sealed.
    const odd = await signer.sign({ ...claims, expiresAt, reservationNumber: 1.5 });
    expect(await signer.verify(odd, T)).toEqual({ ok: false, reason: 'malformed' });
  });
});
