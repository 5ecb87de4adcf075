/**
 * The object's own SQL (workerd's `ctx.storage.sql`) under a drizzle Durable Object database, for the hot paths'
 * statements as plain text: drizzle builds an unprepared query's SQL on every call and maps every column of every
 * row; workerd keeps each statement text's compiled statement, so a constant text compiles once per object.
 */
import type { DrizzleSqliteDODatabase } from 'drizzle-orm/durable-sqlite';

export interface RawSql {
  exec(query: string, ...bindings: unknown[]): { raw(): IterableIterator<unknown[]> };
}

/** drizzle's database keeps the storage it was made from. */
export const rawSqlOf = (db: DrizzleSqliteDODatabase): RawSql => (db as unknown as { $client: { sql: RawSql } }).$client.sql;
