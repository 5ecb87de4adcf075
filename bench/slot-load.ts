/** What the slot-load tools share: a database seeded with a catalog and served slots, and the workload's slot bodies. */
import { writeFileSync } from 'node:fs';
import { readSettings } from '../src/config.js';
import { seedEventLoad } from './event-load.js';
import { SECRET } from './http.js';
import { seedDatabase } from './serve.js';
import { type Catalog, sessions, slotsBody, Zipf } from './workload.js';

/** The catalog, and `slots` served slots (with their events) of `users` users, as a running server would have stored them. */
export async function seedServedSlots(
  path: string,
  catalog: Catalog,
  o: { slots: number; users: number; seed: number },
): Promise<void> {
  seedDatabase(path, catalog, Date.now());
  await seedEventLoad(path, catalog, {
    slots: o.slots,
    users: o.users,
    batch: 100,
    seed: o.seed,
    secret: SECRET,
    now: Date.now(),
    ttlMs: readSettings({}).tokenTtlMs,
  });
}

/** `count` slot request bodies of the workload (Zipf activity over `users`), one JSON per line, for wrk. */
export function writeSlotBodies(file: string, o: { seed: number; users: number; count: number }): string {
  const lines: string[] = [];
  for (const s of sessions(o.seed, o.users, o.count, new Zipf(o.users))) lines.push(slotsBody(s));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
