/**
 * Traffic aggregates, the basis of forecasts, over any synchronous drizzle
 * SQLite (better-sqlite3 on Node, a Durable Object's storage on Workers): counts
 * per day and request context, a reach sketch per row, impressions and clicks per day.
 * Batches merge into the rows in one transaction; rows older than 35 days go.
 */
import { and, between, lt, sql } from 'drizzle-orm';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import * as t from '../../schema/tables.js';
import type { TrafficBatch, TrafficRow, TrafficStore } from './interface.js';
import { Reach } from './reach.js';

/** How long traffic aggregates are kept: long enough for a week of basis and a month of history. */
export const TRAFFIC_RETENTION_DAYS = 35;

export type SyncSqliteDb = BaseSQLiteDatabase<'sync', unknown>;

export class SqlTraffic implements TrafficStore {
  constructor(private db: SyncSqliteDb) {}

  async add(batch: TrafficBatch): Promise<void> {
    this.addNow(batch);
  }

  /** The synchronous body of `add`, for a Durable Object that answers in one turn. */
  addNow(batch: TrafficBatch): void {
    this.db.transaction((tx) => {
      for (const cell of batch.cells) {
        const where = and(
          sql`${t.trafficDaily.day} = ${cell.day}`,
          sql`${t.trafficDaily.country} = ${cell.country}`,
          sql`${t.trafficDaily.language} = ${cell.language}`,
          sql`${t.trafficDaily.platform} = ${cell.platform}`,
        );
        const stored = tx.select({ sketch: t.trafficDaily.reachSketch }).from(t.trafficDaily).where(where).get();
        const reach = Reach.parse(cell.reachSketch);
        if (stored?.sketch) reach.merge(Reach.parse(stored.sketch));
        tx.insert(t.trafficDaily)
          .values({ ...cell, reachSketch: reach.serialize() })
          .onConflictDoUpdate({
            target: [t.trafficDaily.day, t.trafficDaily.country, t.trafficDaily.language, t.trafficDaily.platform],
            set: {
              requests: sql`${t.trafficDaily.requests} + ${sql.raw(String(Math.trunc(cell.requests)))}`,
              opportunities: sql`${t.trafficDaily.opportunities} + ${sql.raw(String(Math.trunc(cell.opportunities)))}`,
              served: sql`${t.trafficDaily.served} + ${sql.raw(String(Math.trunc(cell.served)))}`,
              reachSketch: reach.serialize(),
            },
          })
          .run();
      }
      for (const [day, { impressions, clicks }] of Object.entries(batch.totals)) {
        tx.insert(t.trafficTotals)
          .values({ day, impressions, clicks })
          .onConflictDoUpdate({
            target: t.trafficTotals.day,
            set: {
              impressions: sql`${t.trafficTotals.impressions} + ${sql.raw(String(Math.trunc(impressions)))}`,
              clicks: sql`${t.trafficTotals.clicks} + ${sql.raw(String(Math.trunc(clicks)))}`,
            },
          })
          .run();
      }
      if (batch.oldestDayKept) {
        tx.delete(t.trafficDaily).where(lt(t.trafficDaily.day, batch.oldestDayKept)).run();
        tx.delete(t.trafficTotals).where(lt(t.trafficTotals.day, batch.oldestDayKept)).run();
      }
    });
  }

  async read(fromDay: string, toDay: string): Promise<{ cells: TrafficRow[]; totals: TrafficBatch['totals'] }> {
    return this.readNow(fromDay, toDay);
  }

  readNow(fromDay: string, toDay: string): { cells: TrafficRow[]; totals: TrafficBatch['totals'] } {
    const cells = this.db
      .select()
      .from(t.trafficDaily)
      .where(between(t.trafficDaily.day, fromDay, toDay))
      .all();
    const totals = this.db
      .select()
      .from(t.trafficTotals)
      .where(between(t.trafficTotals.day, fromDay, toDay))
      .all();
    return { cells, totals: Object.fromEntries(totals.map(({ day, ...counts }) => [day, counts])) };
  }
}
