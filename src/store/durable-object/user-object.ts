/**
 * One pseudonymous user's state inside that user's Durable Object: reservations,
 * blocks, hides and the event idempotency ledger, in the object's own SQLite
 * (the shared schema). The object is the only writer for its user, so every
 * read-check-write here is strongly consistent. Effects that belong to a campaign
 * (charges, report counters, reporters) are committed to an outbox in the same
 * transaction and delivered to that campaign's object, which applies each once.
 */
import { and, asc, eq, gt, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { DrizzleSqliteDODatabase } from 'drizzle-orm/durable-sqlite';
import { migrate } from 'drizzle-orm/durable-sqlite/migrator';
import migrations from '../../../schema/migrations/migrations.js';
import * as t from '../../../schema/tables.js';
import { eventEffect } from '../../engine/events.js';
import type { EventType, UserState } from '../../engine/types.js';
import type { EventOutcome, Reservation, VerifiedEvent } from '../interface.js';
import { toHistory } from '../sqlite/users.js';
import { objectTablesDdl, outbox } from './tables.js';

export type ObjectDb = DrizzleSqliteDODatabase;

/** What a first event does to its campaign's object: spend, report counters, reach, reporters. */
export interface CampaignEffect {
  reservationId: string;
  type: EventType;
  campaignId: string;
  creativeId: string;
  /** The pseudonym, for the reach sketch and distinct reporters only; erased with the user. */
  uid: string;
  chargeMicros: number;
  at: number;
}

export interface PendingEffect {
  id: number;
  effect: CampaignEffect;
}

/** Applies the shared migrations and the object's own tables; call inside blockConcurrencyWhile. */
export async function migrateObject(db: ObjectDb): Promise<void> {
  await migrate(db, migrations);
  for (const ddl of objectTablesDdl) db.run(sql.raw(ddl));
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
    const mutes = this.db.select({ c: t.userMutes.category }).from(t.userMutes).where(eq(t.userMutes.uid, uid)).all();
    return {
      history: rows.map(toHistory),
      blocks: new Set(blocks.map((b) => b.a)),
      hides: new Set(hides.map((h) => h.c)),
      mutes: new Set(mutes.map((m) => m.c)),
    };
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

  mute(uid: string, category: string, now: number): void {
    this.db.insert(t.userMutes).values({ uid, category, at: now }).onConflictDoNothing().run();
  }

  unmute(uid: string, category: string): void {
    this.db.delete(t.userMutes).where(and(eq(t.userMutes.uid, uid), eq(t.userMutes.category, category))).run();
  }

  mutes(uid: string): string[] {
    return this.db
      .select({ c: t.userMutes.category })
      .from(t.userMutes)
      .where(eq(t.userMutes.uid, uid))
      .orderBy(asc(t.userMutes.at))
      .all()
      .map((r) => r.c);
  }

  reservation(id: string): Reservation | undefined {
    return this.db.select().from(t.reservations).where(eq(t.reservations.id, id)).get();
  }

  /**
   * Applies verified events of this user idempotently, in order, in one
   * transaction, and queues their campaign effects in the outbox.
   */
  record(batch: VerifiedEvent[], now: number): EventOutcome[] {
    return this.db.transaction((tx) =>
      batch.map((event): EventOutcome => {
        const seen = tx
          .select({ at: t.events.at })
          .from(t.events)
          .where(and(eq(t.events.reservationId, event.reservationId), eq(t.events.type, event.type)))
          .get();
        if (seen) return { status: 'duplicate' };
        const reservation = tx.select().from(t.reservations).where(eq(t.reservations.id, event.reservationId)).get();
        if (!reservation || reservation.uid !== event.uid || reservation.campaignId !== event.campaignId) {
          return { status: 'rejected', reason: 'unknown_reservation' };
        }
        const effect = eventEffect(reservation, event.type, now);
        tx.insert(t.events)
          .values({ reservationId: event.reservationId, type: event.type, uid: event.uid, campaignId: event.campaignId, at: now, costMicros: effect.chargeMicros })
          .run();
        if (effect.converts && reservation.viewedAt === null) {
          tx.update(t.reservations).set({ viewedAt: now }).where(eq(t.reservations.id, reservation.id)).run();
        }
        if (effect.chargeMicros > 0) {
          tx.update(t.reservations).set({ chargedAt: now }).where(eq(t.reservations.id, reservation.id)).run();
        }
        if (effect.blocksAdvertiser) {
          tx.insert(t.userBlocks).values({ uid: event.uid, advertiserId: reservation.advertiserId, at: now }).onConflictDoNothing().run();
        }
        if (effect.hidesCreative) {
          tx.insert(t.userHides).values({ uid: event.uid, creativeId: reservation.creativeId, at: now }).onConflictDoNothing().run();
        }
        const campaignEffect: CampaignEffect = {
          reservationId: reservation.id,
          type: event.type,
          campaignId: reservation.campaignId,
          creativeId: reservation.creativeId,
          uid: event.uid,
          chargeMicros: effect.chargeMicros,
          at: now,
        };
        tx.insert(outbox).values({ campaignId: reservation.campaignId, effect: JSON.stringify(campaignEffect) }).run();
        return { status: 'accepted' };
      }),
    );
  }

  pending(): PendingEffect[] {
    return this.db
      .select()
      .from(outbox)
      .orderBy(asc(outbox.id))
      .all()
      .map((row) => ({ id: row.id, effect: JSON.parse(row.effect) as CampaignEffect }));
  }

  delivered(ids: number[]): void {
    if (ids.length > 0) this.db.delete(outbox).where(inArray(outbox.id, ids)).run();
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
      tx.delete(t.userMutes).where(eq(t.userMutes.uid, uid)).run();
      tx.delete(t.events).where(eq(t.events.uid, uid)).run();
      tx.delete(outbox).run();
    });
  }

  /** Deletes history older than any cap or token needs; returns whether anything is left to prune later. */
  prune(now: number, historyMs: number): { removed: number; oldestServedAt: number | undefined } {
    const before = now - historyMs;
    const r = this.db
      .delete(t.reservations)
      .where(or(lt(t.reservations.servedAt, before), and(lt(t.reservations.expiresAt, now), sql`${t.reservations.viewedAt} is null`)))
      .returning({ id: t.reservations.id })
      .all().length;
    // Report events stay: they are how erase finds the campaign objects that count this user as a reporter.
    const e = this.db.delete(t.events).where(and(lt(t.events.at, before), sql`${t.events.type} <> 'report'`)).returning({ id: t.events.reservationId }).all().length;
    const oldest = this.db.select({ at: sql<number | null>`min(${t.reservations.servedAt})` }).from(t.reservations).get()?.at ?? undefined;
    return { removed: r + e, oldestServedAt: oldest ?? undefined };
  }
}
