/**
 * One pseudonymous user's state inside that user's Durable Object: reservations,
 * blocks, hides and the event idempotency ledger, in the object's own SQLite (the
 * one schema). The object is the only writer for its user, so every
 * read-check-write here is strongly consistent. The user's side of the event
 * procedure runs here; the campaign's side is committed to an outbox in the same
 * transaction and delivered to that campaign's object, which applies each once.
 */
import { and, asc, eq, gt, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { DrizzleSqliteDODatabase } from 'drizzle-orm/durable-sqlite';
import { migrate } from 'drizzle-orm/durable-sqlite/migrator';
import migrations from '../../../schema/migrations/migrations.js';
import * as t from '../../../schema/tables.js';
import type { UserState } from '../../engine/types.js';
import { applyUserSide, type CampaignEffect, type UserSideTx } from '../event-procedure.js';
import type { EventOutcome, EventRules, Reservation, VerifiedEvent } from '../interface.js';
import { toHistory } from '../user-history.js';

export type ObjectDb = DrizzleSqliteDODatabase;

export interface PendingEffect {
  id: number;
  effect: CampaignEffect;
}

/** Applies the one schema's migrations (object tables included); call inside blockConcurrencyWhile. */
export async function migrateObject(db: ObjectDb): Promise<void> {
  await migrate(db, migrations);
}

export class UserObjectStore {
  constructor(private db: ObjectDb) {}

  /** Blocks, hides and the history still counting toward caps at `now`. */
  load(uid: string, now: number, historyMs: number): UserState {
    const rows = this.db
      .select()
      .from(t.reservations)
      .where(
        and(
          eq(t.reservations.uid, uid),
          gt(t.reservations.servedAt, now - historyMs),
          or(isNotNull(t.reservations.viewedAt), gt(t.reservations.expiresAt, now)),
        ),
      )
      .orderBy(asc(t.reservations.servedAt))
      .all();
    const blocks = this.db.select({ a: t.userBlocks.advertiserId }).from(t.userBlocks).where(eq(t.userBlocks.uid, uid)).all();
    const hides = this.db.select({ c: t.userHides.creativeId }).from(t.userHides).where(eq(t.userHides.uid, uid)).all();
    return { history: rows.map(toHistory), blocks: new Set(blocks.map((b) => b.a)), hides: new Set(hides.map((h) => h.c)) };
  }

  reserve(reservations: Reservation[]): void {
    if (reservations.length > 0) this.db.insert(t.reservations).values(reservations).run();
  }

  block(uid: string, advertiserId: string, now: number): void {
    this.db.insert(t.userBlocks).values({ uid, advertiserId, at: now }).onConflictDoNothing().run();
  }

  unblock(uid: string, advertiserId: string): void {
    this.db.delete(t.userBlocks).where(and(eq(t.userBlocks.uid, uid), eq(t.userBlocks.advertiserId, advertiserId))).run();
  }

  blocks(uid: string): string[] {
    return this.db
      .select({ a: t.userBlocks.advertiserId })
      .from(t.userBlocks)
      .where(eq(t.userBlocks.uid, uid))
      .orderBy(asc(t.userBlocks.at))
      .all()
      .map((r) => r.a);
  }

  reservation(uid: string, id: string): Reservation | undefined {
    const row = this.db.select().from(t.reservations).where(eq(t.reservations.id, id)).get();
    return row?.uid === uid ? row : undefined;
  }

  /** The user's side of the event procedure, in one transaction; campaign effects go to the outbox. */
  record(batch: VerifiedEvent[], now: number, rules: Pick<EventRules, 'effect'>): EventOutcome[] {
    return this.db.transaction((tx) => {
      const userSide: UserSideTx = {
        seen: (reservationId, type) =>
          tx
            .select({ at: t.events.at })
            .from(t.events)
            .where(and(eq(t.events.reservationId, reservationId), eq(t.events.type, type)))
            .get() !== undefined,
        reservation: (id) => tx.select().from(t.reservations).where(eq(t.reservations.id, id)).get(),
        insertEvent: (row) => tx.insert(t.events).values(row).run(),
        markViewed: (r, at) => tx.update(t.reservations).set({ viewedAt: at }).where(eq(t.reservations.id, r.id)).run(),
        markCharged: (r, at) => tx.update(t.reservations).set({ chargedAt: at }).where(eq(t.reservations.id, r.id)).run(),
        block: (uid, advertiserId, at) => tx.insert(t.userBlocks).values({ uid, advertiserId, at }).onConflictDoNothing().run(),
        hide: (uid, creativeId, at) => tx.insert(t.userHides).values({ uid, creativeId, at }).onConflictDoNothing().run(),
        forCampaign: (effect) => {
          tx.insert(t.outbox).values({ campaignId: effect.campaignId, effect: JSON.stringify(effect) }).run();
          return undefined;
        },
      };
      return applyUserSide(userSide, batch, now, rules);
    });
  }

  pending(): PendingEffect[] {
    return this.db
      .select()
      .from(t.outbox)
      .orderBy(asc(t.outbox.id))
      .all()
      .map((row) => ({ id: row.id, effect: JSON.parse(row.effect) as CampaignEffect }));
  }

  delivered(ids: number[]): void {
    if (ids.length > 0) this.db.delete(t.outbox).where(inArray(t.outbox.id, ids)).run();
  }

  /** What campaign objects hold for this user: live holds to release and creatives it reported. */
  traces(uid: string): { holds: { campaignId: string; reservationId: string }[]; reports: { campaignId: string }[] } {
    const holds = this.db
      .select({ campaignId: t.reservations.campaignId, reservationId: t.reservations.id })
      .from(t.reservations)
      .where(and(eq(t.reservations.uid, uid), sql`${t.reservations.chargedAt} is null`))
      .all();
    // From the events alone: report events outlive pruned reservations.
    const reports = this.db
      .selectDistinct({ campaignId: t.events.campaignId })
      .from(t.events)
      .where(and(eq(t.events.uid, uid), eq(t.events.type, 'report')))
      .all();
    return { holds, reports };
  }

  /** Removes every row that carries this user's pseudonym. */
  erase(uid: string): void {
    this.db.transaction((tx) => {
      tx.delete(t.reservations).where(eq(t.reservations.uid, uid)).run();
      tx.delete(t.userBlocks).where(eq(t.userBlocks.uid, uid)).run();
      tx.delete(t.userHides).where(eq(t.userHides.uid, uid)).run();
      tx.delete(t.events).where(eq(t.events.uid, uid)).run();
      tx.delete(t.outbox).run();
    });
  }

  /** Deletes history older than any cap or token needs; returns what it removed and the oldest history left. */
  prune(now: number, historyMs: number): { removed: number; oldestServedAt: number | undefined } {
    const before = now - historyMs;
    const r = this.db
      .delete(t.reservations)
      .where(or(lt(t.reservations.servedAt, before), and(lt(t.reservations.expiresAt, now), sql`${t.reservations.viewedAt} is null`)))
      .returning({ id: t.reservations.id })
      .all().length;
    // Report events stay: they are how erase finds the campaign objects that count this user as a reporter.
    const e = this.db
      .delete(t.events)
      .where(and(lt(t.events.at, before), sql`${t.events.type} <> 'report'`))
      .returning({ id: t.events.reservationId })
      .all().length;
    const oldest = this.db.select({ at: sql<number | null>`min(${t.reservations.servedAt})` }).from(t.reservations).get()?.at ?? undefined;
    return { removed: r + e, oldestServedAt: oldest ?? undefined };
  }
}
