/** Distinct reporters of a creative, read the same way by every backend that keeps them in SQLite (Node, campaign objects). */
import { and, count, eq, gte } from 'drizzle-orm';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import * as t from '../../schema/tables.js';

/** Distinct users who reported a creative since `since` (its last review): earlier reports were already judged. */
export function reportersSince(db: BaseSQLiteDatabase<'sync', unknown>, creativeId: string, since: number): number {
  return (
    db
      .select({ n: count() })
      .from(t.creativeReports)
      .where(and(eq(t.creativeReports.creativeId, creativeId), gte(t.creativeReports.at, since)))
      .get()?.n ?? 0
  );
}
