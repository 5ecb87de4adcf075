/** The Workers catalog: the one SQL catalog on D1, whose `batch` runs writes atomically (D1 has no interactive transactions). */
import { drizzle } from 'drizzle-orm/d1';
import { type Atomic, SqlCatalog, type SqlDb } from '../catalog.js';

/** Anything drizzle's D1 driver accepts: the Workers binding, or Miniflare's from Node. */
export type D1Binding = Parameters<typeof drizzle>[0];

export function createD1Catalog(binding: D1Binding): SqlCatalog {
  const db = drizzle(binding);
  return new SqlCatalog(db as unknown as SqlDb, ((writes) => db.batch(writes)) as Atomic);
}
