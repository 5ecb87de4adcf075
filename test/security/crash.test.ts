/**
 * Crash safety: 8 clients post slots and events against the real server, which
 * is SIGKILLed mid-load and restarted on the same files. Every acknowledged
 * event is still there (its replay is a duplicate), none is counted twice, and
 * spend equals the sum of the prices charged. SQLite runs WAL with
 * synchronous=FULL, so an acknowledged commit also survives power loss.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/db.js';
import { png } from '../helpers/media.js';
import { http, type RealServer, removeDir, seed, startServer, stopServer } from '../helpers/server.js';

type EventType = 'impression' | 'click';
interface Sent {
  token: string;
  type: EventType;
}

describe('crash safety', () => {
  let server: RealServer | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await stopServer(server);
    removeDir(dir);
  });

  it('opens SQLite in WAL mode with synchronous=FULL', () => {
    const tmp = join(process.env.TMPDIR ?? '/tmp', `status-ads-pragma-${process.pid}.db`);
    const opened = openDatabase(tmp);
    try {
      expect(opened.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(opened.sqlite.pragma('synchronous', { simple: true })).toBe(2); // FULL
    } finally {
      opened.sqlite.close();
      for (const suffix of ['', '-wal', '-shm']) removeDir(tmp + suffix);
    }
  });

  it('SIGKILL mid-load loses no acknowledged event and counts none twice', async () => {
    server = await startServer();
    dir = server.dir;
    const world = await seed(server, new Uint8Array(png(90, 160, 5)), { budget: { totalMicros: 1_000_000_000_000 } });
    const acknowledged: Sent[] = [];
    const sent: Sent[] = [];
    // `dying`: the kill is under way, so failures are expected; `killed`: clients stop.
    let dying = false;
    let killed = false;
    let cutOff = 0;

    async function client(n: number) {
      for (let i = 0; !killed; i++) {
        try {
          const slots = await http(server!, 'POST', '/v1/slots', world.clientKey, { user: `crash-user-${n}-${i}`, statuses: 10 });
          if (slots.status !== 200) throw new Error(`slots ${slots.status}`);
          const batch: Sent[] = slots.body.slots.flatMap((s: { token: string }) => [
            { token: s.token, type: 'impression' as const },
            ...(i % 3 === 0 ? [{ token: s.token, type: 'click' as const }] : []),
          ]);
          if (batch.length === 0) continue;
          sent.push(...batch);
          const events = await http(server!, 'POST', '/v1/events', world.clientKey, { events: batch });
          expect(events.status).toBe(200);
          events.body.results.forEach((r: { status: string }, j: number) => {
            expect(r.status).toBe('accepted');
            acknowledged.push(batch[j]);
          });
        } catch (err) {
          if (!dying) throw err;
          cutOff++;
        }
      }
    }

    let failure: unknown;
    const clients = Array.from({ length: 8 }, (_, n) =>
      client(n).catch((err) => {
        failure = err;
        dying = killed = true;
      }),
    );
    // Kill once real load is flowing.
    while (acknowledged.length < 600 && failure === undefined) await new Promise((r) => setTimeout(r, 10));
    if (failure !== undefined) throw failure;
    // Clients keep sending through the kill, so requests are always cut off mid-flight.
    dying = true;
    process.kill(server.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    killed = true;
    await Promise.all(clients);
    await stopServer(server);
    expect(acknowledged.length).toBeGreaterThanOrEqual(600);
    expect(cutOff).toBeGreaterThan(0); // requests were in flight at the kill

    // The files are consistent after the crash.
    const check = new Database(join(dir, 'ads.db'));
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();

    server = await startServer({ dir });
    // Every acknowledged event is present: replaying it is a duplicate.
    const ackedKeys = new Set(acknowledged.map((e) => `${e.token} ${e.type}`));
    for (let i = 0; i < acknowledged.length; i += 500) {
      const replay = await http(server, 'POST', '/v1/events', world.clientKey, { events: acknowledged.slice(i, i + 500) });
      expect(replay.body.results.every((r: { status: string }) => r.status === 'duplicate')).toBe(true);
    }
    // Events sent but never answered may or may not have been committed; replaying them settles each exactly once.
    const unanswered = sent.filter((e) => !ackedKeys.has(`${e.token} ${e.type}`));
    for (let i = 0; i < unanswered.length; i += 500) {
      const replay = await http(server, 'POST', '/v1/events', world.clientKey, { events: unanswered.slice(i, i + 500) });
      expect(replay.body.results.every((r: { status: string }) => r.status === 'accepted' || r.status === 'duplicate')).toBe(
        true,
      );
    }

    // Counted exactly once: the report equals the number of distinct events sent.
    const day = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
    const report = await http(
      server,
      'GET',
      `/v1/reports?campaign=${world.campaignId}&from=${day(-1)}&to=${day(1)}`,
      world.advertiserKey,
    );
    expect(report.status).toBe(200);
    const total = (k: 'impressions' | 'clicks' | 'spendMicros') =>
      report.body.rows.reduce((a: number, r: Record<string, number>) => a + r[k], 0);
    const distinct = (type: EventType) => new Set(sent.filter((e) => e.type === type).map((e) => e.token)).size;
    expect(total('impressions')).toBe(distinct('impression'));
    expect(total('clicks')).toBe(distinct('click'));
    expect(total('impressions')).toBeGreaterThanOrEqual(acknowledged.filter((e) => e.type === 'impression').length);

    // Spend equals the sum of charged prices, in every place money is kept.
    const db = new Database(join(dir, 'ads.db'), { readonly: true });
    const one = (sql: string) => (db.prepare(sql).get() as { s: number }).s;
    // Charged: the reservation's billable event (impression for cpm, click for cpc) arrived while its hold was live.
    const charged = one(
      `SELECT coalesce(sum(r.price_micros), 0) AS s FROM reservations r JOIN events e ON e.reservation = r.number
         AND e.type = CASE r.bid_type WHEN 'cpm' THEN 'impression' ELSE 'click' END AND e.at < r.expires_at`,
    );
    const ledger = one(`SELECT coalesce(sum(cost_micros), 0) AS s FROM events`);
    const spend = one(`SELECT coalesce(sum(spend_micros), 0) AS s FROM campaign_spend`);
    const impressions = one(`SELECT count(*) AS s FROM events WHERE type = 'impression'`);
    db.close();
    expect(charged).toBeGreaterThan(0);
    expect(ledger).toBe(charged);
    expect(spend).toBe(charged);
    expect(total('spendMicros')).toBe(charged);
    expect(impressions).toBe(distinct('impression'));
    // The server also serves again after the restart.
    const slots = await http(server, 'POST', '/v1/slots', world.clientKey, { user: 'after-restart', statuses: 10 });
    expect(slots.body.slots).toHaveLength(1);
    expect(server.logs()).not.toMatch(/crash-user-/);
  }, 60_000);
});
