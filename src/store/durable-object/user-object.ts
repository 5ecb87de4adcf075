/**
 * One pseudonymous user's state inside that user's Durable Object: reservations,
 * blocks, hides and the event idempotency ledger, in the object's own SQLite (the
 * one schema). The object is the only writer for its user, so every
 * read-check-write here is strongly consistent. The user's side of the event
 * procedure runs here; the campaign's side is committed to an outbox in the same
 * transaction and delivered to that campaign's object, which applies each once.
 */
import { and, asc, eq, getTableColumns, inArray, lt, notInArray, or, sql } from 'drizzle-orm';
import type { DrizzleSqliteDODatabase } from 'drizzle-orm/durable-sqlite';
import { migrate } from 'drizzle-orm/durable-sqlite/migrator';
import migrations from '../../../schema/migrations/migrations.js';
import * as t from '../../../schema/tables.js';
import { eventEffect } from '../../engine/events.js';
import type { HistoryEntry, UserState } from '../../engine/types.js';
import { applyUserSide, type CampaignEffect, type UserSideTx } from '../event-procedure.js';
import type { EventOutcome, EventRules, Reservation, VerifiedEvent } from '../interface.js';
import { KeyedLock } from '../keyed-lock.js';
import { RESERVATION_COLUMNS, RESERVATION_WIDTH, reservationFromValues, reservationValues } from '../reservation-row.js';
import { gainedHistory, uidKey } from '../user-history.js';
import { statementChunks } from './bound-parameters.js';
import { effectShard } from './campaign-object.js';
import type { ObjectDirectory, UserObjectRpc } from './index.js';
import { type RawSql, rawSqlOf } from './raw-sql.js';

/** A reservation row's columns but its user key (SQLite makes it from the uid; `Reservation` has none). */
const { uidKey: _uidKey, ...RESERVATION_FIELDS } = getTableColumns(t.reservations);

/**
 * The hot paths' statements as plain text on the storage's own SQL, not through drizzle: drizzle builds an
 * unprepared query's SQL on every call and maps every column of every row (its own profile share on the
 * slot path, bench/README, session 15). The history reads only what the engine's history entry needs.
 */
const HISTORY_SQL = `select id, campaign_id, creative_id, advertiser_id, served_at, expires_at, viewed_at is not null
  from reservations where uid_key = ? and uid = ? and served_at > ? and (viewed_at is not null or expires_at > ?)
  order by served_at`;
/** Blocks, hides and mutes in one statement (most users have none of them). */
const MARKS_SQL = `select 'b', advertiser_id from user_blocks where uid = ?1
  union all select 'h', creative_id from user_hides where uid = ?1
  union all select 'm', category from user_mutes where uid = ?1`;
/** The insert of `rows` reservations (one statement text per count, so workerd keeps each compiled). */
const insertSql = (rows: number) =>
  `insert into reservations (${RESERVATION_COLUMNS}) values ${Array.from({ length: rows }, () => `(${'?,'.repeat(RESERVATION_WIDTH - 1)}?)`).join(',')}`;
const INSERT_EVENT_SQL = 'insert into events (reservation, type, uid, campaign_id, at, cost_micros) values (?, ?, ?, ?, ?, ?)';
const MARK_VIEWED_SQL = 'update reservations set viewed_at = ? where id = ?';
const MARK_CHARGED_SQL = 'update reservations set charged_at = ? where id = ?';
const MARK_BOTH_SQL = 'update reservations set viewed_at = ?, charged_at = ? where id = ?';
/**
 * An event's reservation, its budget shard and whether its (reservation, type) was recorded: one statement for the
 * procedure's `seen` and `reservation` (events are keyed by the reservation's number: tokens on Workers carry none).
 */
const EVENT_RESERVATION_SQL = `select ${RESERVATION_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ')}, s.shard,
  exists (select 1 from events e where e.reservation = r.number and e.type = ?2)
  from reservations r left join do_reservation_shards s on s.reservation_id = r.id where r.id = ?1`;
/** Where `EVENT_RESERVATION_SQL`'s row has the budget shard and the idempotency probe, after the reservation's columns. */
const SHARD = RESERVATION_WIDTH;
const SEEN = RESERVATION_WIDTH + 1;
/**
 * One outbox row per transaction that has campaign effects: `effect` the JSON array of them (a row written before
 * session 16 holds one effect, as an object), `campaign_id` the first effect's (unused). A row is written and
 * deleted once, not once per event: rows written are what an event costs (docs/deploy.md).
 */
const OUTBOX_INSERT_SQL = 'insert into do_outbox (campaign_id, effect) values (?, ?)';
const OUTBOX_SQL = 'select id, effect from do_outbox order by id';
const outboxDeleteSql = (ids: number) => `delete from do_outbox where id in (${'?,'.repeat(ids - 1)}?)`;

/** A reservation as `EVENT_RESERVATION_SQL` reads it. */
function reservationOf(row: unknown[]): Reservation {
  const reservation = reservationFromValues(row);
  if (row[SHARD] !== null) reservation.budgetShard = row[SHARD] as number;
  return reservation;
}

/** A user's reservations: by the key (its index), then the pseudonym itself (another user may share the key). */
const theirs = (uid: string) => and(eq(t.reservations.uidKey, uidKey(uid)), eq(t.reservations.uid, uid));

export type ObjectDb = DrizzleSqliteDODatabase;

export interface PendingEffect {
  id: number;
  effect: OutboxEffect;
}

/**
 * An effect as the outbox delivers it: with its row. Rows are numbered in order (AUTOINCREMENT: never reused) within
 * their source, a random id a user object's storage keeps, so a campaign object knows a redelivered row by its number
 * (every delivery holds all of a source's rows for that campaign not yet acknowledged, oldest first).
 */
export interface OutboxEffect extends CampaignEffect {
  outbox?: { source: string; row: number };
}

/** Applies the one schema's migrations (object tables included); call inside blockConcurrencyWhile. */
export async function migrateObject(db: ObjectDb): Promise<void> {
  await migrate(db, migrations);
  // An object finds its users' events by pseudonym (erase, reporters), and keeps report events:
  // the index the Node store dropped (migration 0008, it goes through reservations) stays here.
  db.run(sql`CREATE INDEX IF NOT EXISTS do_events_uid ON events (uid)`);
  // A user's reservations by key: the Node store keeps them in `reservation_users`, filled in batches (migration
  // 0011, which drops this index); an object keeps the index, and the table the migration filled is emptied (nothing
  // here keeps it up to date: its entries would outlive erasure).
  db.run(sql`CREATE INDEX IF NOT EXISTS do_reservations_uid_key ON reservations (uid_key)`);
  db.run(sql`DELETE FROM reservation_users`);
  // An object finds reservations by id (tokens on Workers carry no number) and prunes by `served_at`: the indexes the
  // Node store dropped (migration 0012) stay here.
  db.run(sql`CREATE UNIQUE INDEX IF NOT EXISTS do_reservations_id ON reservations (id)`);
  db.run(sql`CREATE INDEX IF NOT EXISTS do_reservations_served ON reservations (served_at)`);
  // Objects' own tables, not in the shared schema: a user object's outbox source (`UserObjectStore.source`), and
  // what a campaign object took from each source (`CampaignObjectStore.apply`): one row per source, not per effect.
  db.run(sql`CREATE TABLE IF NOT EXISTS do_outbox_source (id TEXT NOT NULL)`);
  db.run(
    sql`CREATE TABLE IF NOT EXISTS do_outbox_taken (campaign_id TEXT NOT NULL, shard INTEGER NOT NULL, source TEXT NOT NULL,
      row INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (campaign_id, shard, source)) WITHOUT ROWID`,
  );
}

export class UserObjectStore {
  /** The last reservation number given (`nextNumber`). */
  private lastNumber: number | undefined;
  /** This storage's outbox source (see OutboxEffect), read or made once. */
  private outboxSource: string | undefined;
  private sql: RawSql;

  constructor(private db: ObjectDb) {
    this.sql = rawSqlOf(db);
  }

  /** Blocks, hides and the history still counting toward caps at `now`. */
  load(uid: string, now: number, historyMs: number): UserState {
    const history = this.history(uid, now, historyMs);
    const blocks = new Set<string>();
    const hides = new Set<string>();
    const mutes = new Set<string>();
    for (const [kind, id] of this.sql.exec(MARKS_SQL, uid).raw() as IterableIterator<['b' | 'h' | 'm', string]>)
      (kind === 'b' ? blocks : kind === 'h' ? hides : mutes).add(id);
    return { history, blocks, hides, mutes };
  }

  /** The history still counting toward caps at `now`, oldest first. */
  private history(uid: string, now: number, historyMs: number): HistoryEntry[] {
    const history: HistoryEntry[] = [];
    const rows = this.sql.exec(HISTORY_SQL, uidKey(uid), uid, now - historyMs, now).raw();
    for (const [reservationId, campaignId, creativeId, advertiserId, servedAt, expiresAt, viewed] of rows as IterableIterator<
      [string, string, string, string, number, number, number]
    >) {
      history.push({ reservationId, campaignId, creativeId, advertiserId, servedAt, expiresAt, viewed: viewed === 1 });
    }
    return history;
  }

  /** Stores one response's reservations unless the user gained cap history since `basedOn` was read. */
  reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }): boolean {
    if (reservations.length === 0) return true;
    if (basedOn) {
      const current = this.history(reservations[0].uid, reservations[0].servedAt, basedOn.historyMs);
      if (gainedHistory(current, basedOn.history)) return false;
    }
    for (const r of reservations) r.number = this.nextNumber();
    this.db.transaction((tx) => {
      for (const rows of statementChunks(reservations, RESERVATION_WIDTH))
        this.sql.exec(insertSql(rows.length), ...rows.flatMap(reservationValues));
      this.rememberShards(tx, reservations);
    });
    return true;
  }

  /**
   * The next reservation number: past every number in use, events' too (report events outlive their pruned
   * reservation here, and must never be taken for a later reservation's). Read once per object, then counted.
   */
  private nextNumber(): number {
    if (this.lastNumber === undefined) {
      const row = this.db.get<{ n: number | null }>(
        sql`select max(coalesce((select max(number) from reservations), 0), coalesce((select max(reservation) from events), 0)) as n`,
      );
      this.lastNumber = row?.n ?? 0;
    }
    return ++this.lastNumber;
  }

  /**
   * Deletes reservations never tokened (their budget hold was refused, or their response was abandoned), so they
   * stop counting toward caps.
   */
  unreserve(uid: string, reservationIds: string[]): void {
    if (reservationIds.length === 0) return;
    this.db.transaction((tx) => {
      for (const ids of statementChunks(reservationIds)) {
        const gone = tx
          .delete(t.reservations)
          .where(and(eq(t.reservations.uid, uid), inArray(t.reservations.id, ids)))
          .returning({ id: t.reservations.id })
          .all()
          .map((r) => r.id);
        if (gone.length > 0) tx.delete(t.reservationShards).where(inArray(t.reservationShards.reservationId, gone)).run();
      }
    });
  }

  /** Keeps the budget shard of reservations whose campaign is split over several (charges, releases and erasure go there). */
  private rememberShards(db: Pick<ObjectDb, 'insert'>, reservations: Reservation[]): void {
    const sharded = reservations.filter((r) => (r.budgetShard ?? 0) > 0);
    for (const rows of statementChunks(sharded, 2)) {
      db.insert(t.reservationShards)
        .values(rows.map((r) => ({ reservationId: r.id, shard: r.budgetShard as number })))
        .onConflictDoNothing()
        .run();
    }
  }

  block(uid: string, advertiserId: string, now: number): void {
    this.db.insert(t.userBlocks).values({ uid, advertiserId, at: now }).onConflictDoNothing().run();
  }

  unblock(uid: string, advertiserId: string): void {
    this.db
      .delete(t.userBlocks)
      .where(and(eq(t.userBlocks.uid, uid), eq(t.userBlocks.advertiserId, advertiserId)))
      .run();
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
    this.db
      .delete(t.userMutes)
      .where(and(eq(t.userMutes.uid, uid), eq(t.userMutes.category, category)))
      .run();
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

  reservation(uid: string, id: string): Reservation | undefined {
    const row = this.db.select(RESERVATION_FIELDS).from(t.reservations).where(eq(t.reservations.id, id)).get();
    return row?.uid === uid ? row : undefined;
  }

  /** The user's side of the event procedure, in one transaction; campaign effects go to the outbox. */
  record(batch: VerifiedEvent[], now: number, rules: Pick<EventRules, 'effect'>): EventOutcome[] {
    return this.db.transaction((tx) => {
      const effects: CampaignEffect[] = [];
      // `seen` reads the event's reservation too; the procedure asks `reservation` for the same event right after.
      let read: { event: VerifiedEvent; reservation: Reservation | undefined } | undefined;
      // An event's marks on its reservation, written together before the next event reads (a cpm impression both
      // converts and charges: one row written, not two).
      let marks: { id: string; viewedAt?: number; chargedAt?: number } | undefined;
      const writeMarks = () => {
        if (!marks) return;
        const { id, viewedAt, chargedAt } = marks;
        marks = undefined;
        if (viewedAt === undefined) this.sql.exec(MARK_CHARGED_SQL, chargedAt, id);
        else if (chargedAt === undefined) this.sql.exec(MARK_VIEWED_SQL, viewedAt, id);
        else this.sql.exec(MARK_BOTH_SQL, viewedAt, chargedAt, id);
      };
      const marked = (r: Reservation) => {
        if (marks?.id !== r.id) writeMarks();
        marks ??= { id: r.id };
        return marks;
      };
      const userSide: UserSideTx = {
        seen: (event) => {
          writeMarks();
          const found = this.sql.exec(EVENT_RESERVATION_SQL, event.reservationId, event.type).raw().next();
          const row = found.done ? undefined : (found.value as unknown[]);
          read = { event, reservation: row && reservationOf(row) };
          return row?.[SEEN] === 1;
        },
        reservation: (event) => (read?.event === event ? read.reservation : undefined),
        insertEvent: ({ reservationNumber, type, uid, campaignId, at, costMicros }) =>
          void this.sql.exec(INSERT_EVENT_SQL, reservationNumber, type, uid, campaignId, at, costMicros),
        markViewed: (r, at) => void (marked(r).viewedAt = at),
        markCharged: (r, at) => void (marked(r).chargedAt = at),
        block: (uid, advertiserId, at) => tx.insert(t.userBlocks).values({ uid, advertiserId, at }).onConflictDoNothing().run(),
        hide: (uid, creativeId, at) => tx.insert(t.userHides).values({ uid, creativeId, at }).onConflictDoNothing().run(),
        forCampaign: (effect) => {
          effects.push(effect);
          return undefined;
        },
      };
      const outcomes = applyUserSide(userSide, batch, now, rules);
      writeMarks();
      if (effects.length > 0) this.sql.exec(OUTBOX_INSERT_SQL, effects[0].campaignId, JSON.stringify(effects));
      return outcomes;
    });
  }

  pending(): PendingEffect[] {
    const pending: PendingEffect[] = [];
    for (const [id, json] of this.sql.exec(OUTBOX_SQL).raw() as IterableIterator<[number, string]>) {
      const effects = JSON.parse(json) as OutboxEffect | OutboxEffect[];
      for (const effect of Array.isArray(effects) ? effects : [effects]) {
        effect.outbox = { source: this.source(), row: id };
        pending.push({ id, effect });
      }
    }
    return pending;
  }

  private source(): string {
    if (this.outboxSource === undefined) {
      const row = this.sql.exec('select id from do_outbox_source').raw().next();
      if (row.done) {
        this.outboxSource = crypto.randomUUID();
        this.sql.exec('insert into do_outbox_source (id) values (?)', this.outboxSource);
      } else this.outboxSource = row.value[0] as string;
    }
    return this.outboxSource;
  }

  delivered(ids: number[]): void {
    if (ids.length === 0) return;
    for (const chunk of statementChunks(ids)) this.sql.exec(outboxDeleteSql(chunk.length), ...chunk);
  }

  /** What campaign objects hold for this user: live holds to release and creatives it reported. */
  traces(uid: string): {
    holds: { campaignId: string; reservationId: string; shard: number }[];
    reports: { campaignId: string }[];
  } {
    const holds = this.db
      .select({
        campaignId: t.reservations.campaignId,
        reservationId: t.reservations.id,
        shard: sql<number>`coalesce(${t.reservationShards.shard}, 0)`,
      })
      .from(t.reservations)
      .leftJoin(t.reservationShards, eq(t.reservationShards.reservationId, t.reservations.id))
      .where(and(theirs(uid), sql`${t.reservations.chargedAt} is null`))
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
      tx.delete(t.reservationShards)
        .where(
          inArray(
            t.reservationShards.reservationId,
            tx.select({ id: t.reservations.id }).from(t.reservations).where(theirs(uid)),
          ),
        )
        .run();
      tx.delete(t.reservations).where(theirs(uid)).run();
      tx.delete(t.userBlocks).where(eq(t.userBlocks.uid, uid)).run();
      tx.delete(t.userHides).where(eq(t.userHides.uid, uid)).run();
      tx.delete(t.userMutes).where(eq(t.userMutes.uid, uid)).run();
      tx.delete(t.events).where(eq(t.events.uid, uid)).run();
      tx.delete(t.outbox).run();
    });
  }

  /** Deletes history older than any cap or token needs; returns what it removed and the oldest history left. */
  prune(now: number, historyMs: number): { removed: number; oldestServedAt: number | undefined } {
    const before = now - historyMs;
    const r = this.db
      .delete(t.reservations)
      .where(
        or(lt(t.reservations.servedAt, before), and(lt(t.reservations.expiresAt, now), sql`${t.reservations.viewedAt} is null`)),
      )
      .returning({ id: t.reservations.id })
      .all().length;
    // Shards of reservations no longer kept (an anti-join on the reservations' key).
    this.db
      .delete(t.reservationShards)
      .where(notInArray(t.reservationShards.reservationId, this.db.select({ id: t.reservations.id }).from(t.reservations)))
      .run();
    // Report events stay: they are how erase finds the campaign objects that count this user as a reporter.
    const e = this.db
      .delete(t.events)
      .where(and(lt(t.events.at, before), sql`${t.events.type} <> 'report'`))
      .returning({ id: t.events.reservation })
      .all().length;
    const oldest =
      this.db
        .select({ at: sql<number | null>`min(${t.reservations.servedAt})` })
        .from(t.reservations)
        .get()?.at ?? undefined;
    return { removed: r + e, oldestServedAt: oldest ?? undefined };
  }
}

/** Alarm access of a Durable Object's storage. */
export interface ObjectAlarms {
  get(): Promise<number | null>;
  set(at: number): Promise<void>;
}

/** What a user object needs from the isolate hosting it. */
export interface UserObjectContext {
  objects: ObjectDirectory;
  reportThreshold: number;
  /** The history window the isolate's index implies (for pruning by alarm). */
  historyMs(): number;
}

/** Retry delay for effects a campaign object did not acknowledge. */
const OUTBOX_RETRY_MS = 5_000;

/**
 * What one user object does, behind the thin class in src/runtime/worker.ts: every call
 * runs one at a time (the lock spans the awaits on campaign objects); campaign effects
 * are delivered from the outbox, retried by alarm; erase releases the user's holds and
 * reports in campaign objects before deleting the rows; history is pruned by alarm.
 */
export class UserObjectService implements UserObjectRpc {
  private state: UserObjectStore;
  private lock = new KeyedLock();
  /** The alarm as this object last set or read it (only this object sets it); undefined: not known. */
  private alarmAt: number | null | undefined;

  constructor(
    db: ObjectDb,
    private alarms: ObjectAlarms,
    private context: () => Promise<UserObjectContext>,
  ) {
    this.state = new UserObjectStore(db);
  }

  private serial<T>(work: () => T | Promise<T>): Promise<T> {
    return this.lock.run('user', async () => work());
  }

  async load(uid: string, now: number, historyMs: number) {
    return this.serial(() => this.state.load(uid, now, historyMs));
  }

  async reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }) {
    return this.serial(async () => {
      const stored = this.state.reserve(reservations, basedOn);
      // A served response (Delivery passes what it was based on): prune once its history stops mattering.
      if (stored && basedOn && reservations.length > 0) await this.schedule(Date.now() + basedOn.historyMs);
      return stored;
    });
  }

  async unreserve(uid: string, reservationIds: string[]) {
    return this.serial(() => this.state.unreserve(uid, reservationIds));
  }

  async block(uid: string, advertiserId: string, now: number) {
    return this.serial(() => this.state.block(uid, advertiserId, now));
  }

  async unblock(uid: string, advertiserId: string) {
    return this.serial(() => this.state.unblock(uid, advertiserId));
  }

  async blocks(uid: string) {
    return this.state.blocks(uid);
  }

  async mute(uid: string, category: string, now: number) {
    return this.serial(() => this.state.mute(uid, category, now));
  }

  async unmute(uid: string, category: string) {
    return this.serial(() => this.state.unmute(uid, category));
  }

  async mutes(uid: string) {
    return this.state.mutes(uid);
  }

  async reservation(uid: string, id: string) {
    return this.state.reservation(uid, id);
  }

  async record(events: VerifiedEvent[], now: number, reportThreshold: number) {
    return this.serial(async () => {
      const outcomes = this.state.record(events, now, { effect: eventEffect });
      const sentToReview = await this.deliver(reportThreshold);
      return { outcomes, sentToReview };
    });
  }

  async prune(now: number, historyMs: number) {
    return this.serial(() => this.state.prune(now, historyMs).removed);
  }

  /**
   * Hands outbox effects to their campaign objects; what fails stays queued and is retried by alarm. A row holds
   * effects for several campaigns: it goes once every one took its effects (those that did apply a retry's once).
   */
  private async deliver(reportThreshold: number): Promise<string[]> {
    const byCampaign = new Map<string, { campaignId: string; shard: number; ids: Set<number>; effects: CampaignEffect[] }>();
    for (const { id, effect } of this.state.pending()) {
      const shard = effectShard(effect);
      const key = `${effect.campaignId}#${shard}`;
      let group = byCampaign.get(key);
      if (!group) byCampaign.set(key, (group = { campaignId: effect.campaignId, shard, ids: new Set(), effects: [] }));
      group.ids.add(id);
      group.effects.push(effect);
    }
    if (byCampaign.size === 0) return [];
    const { objects } = await this.context();
    const sentToReview: string[] = [];
    const delivered = new Set<number>();
    const kept = new Set<number>();
    await Promise.all(
      [...byCampaign.values()].map(async (group) => {
        const { campaignId } = group;
        try {
          sentToReview.push(...(await objects.campaign(campaignId, group.shard).apply(group.effects, reportThreshold)));
          for (const id of group.ids) delivered.add(id);
        } catch (err) {
          for (const id of group.ids) kept.add(id);
          console.error(`[events] campaign object ${campaignId} unavailable, effects queued: ${(err as Error).message}`);
        }
      }),
    );
    this.state.delivered([...delivered].filter((id) => !kept.has(id)));
    if (kept.size > 0) await this.schedule(Date.now() + OUTBOX_RETRY_MS);
    return sentToReview;
  }

  async erase(uid: string) {
    const { objects, reportThreshold } = await this.context();
    return this.serial(async () => {
      await this.deliver(reportThreshold);
      if (this.state.pending().length > 0) throw new Error('campaign objects unavailable; erase not done, retry');
      const traces = this.state.traces(uid);
      const campaigns = new Set([...traces.holds.map((h) => h.campaignId), ...traces.reports.map((r) => r.campaignId)]);
      await Promise.all(
        [...campaigns].map(async (campaignId) => {
          const holds = traces.holds.filter((h) => h.campaignId === campaignId);
          const shards = new Set(holds.map((h) => h.shard));
          await Promise.all(
            [...shards].map((shard) =>
              objects.campaign(campaignId, shard).release(holds.filter((h) => h.shard === shard).map((h) => h.reservationId)),
            ),
          );
          if (traces.reports.some((r) => r.campaignId === campaignId)) await objects.campaign(campaignId).forgetReporter(uid);
        }),
      );
      this.state.erase(uid);
    });
  }

  /** Sets the alarm no later than `at`. */
  private async schedule(at: number) {
    // A served response asks on every reserve: known from memory, the alarm costs no storage call then.
    if (this.alarmAt === undefined) this.alarmAt = await this.alarms.get();
    const current = this.alarmAt;
    if (current !== null && current <= at) return;
    this.alarmAt = undefined;
    await this.alarms.set(at);
    this.alarmAt = at;
  }

  /** Retries undelivered effects and drops history no cap or token needs any more. */
  async alarm() {
    // The alarm that fired is spent once this returns: never remember it, read it again after.
    this.alarmAt = undefined;
    try {
      const context = await this.context();
      await this.serial(async () => {
        await this.deliver(context.reportThreshold);
        const historyMs = context.historyMs();
        const { oldestServedAt } = this.state.prune(Date.now(), historyMs);
        if (oldestServedAt !== undefined) await this.schedule(oldestServedAt + historyMs + 1);
      });
    } finally {
      this.alarmAt = undefined;
    }
  }
}
