/**
 * Erasure empties the WAL even when a reader keeps it busy at that moment: the truncating checkpoint (on the
 * checkpointer's worker, the group commits held) is tried again until the reader is done, so the deleted rows' old
 * page images do not stay on disk.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer } from '../../src/privacy/pseudonym.js';
import { makeService, SECRET } from '../helpers/service.js';

let s: Awaited<ReturnType<typeof makeService>>;
beforeAll(async () => {
  s = await makeService();
});
afterAll(async () => {
  await s?.close();
});

const walBytes = () =>
  readdirSync(s.dir)
    .filter((f) => f.endsWith('-wal'))
    .map((f) => readFileSync(join(s.dir, f)).toString('latin1'))
    .join('');

describe('erase while another connection keeps the WAL busy', () => {
  it('waits for it and leaves no trace of the pseudonym in the WAL', async () => {
    const client = await s.newClient();
    await s.seedCampaign({ seed: 91 });
    const served = await s.call('POST', '/v1/slots', client.key, { user: 'busy-erase', statuses: 10 });
    expect(served.body.slots.length).toBeGreaterThan(0);
    const uid = await createPseudonymizer(SECRET)('busy-erase');
    expect(walBytes()).toContain(uid);

    // A reader in the middle of a read transaction: a TRUNCATE checkpoint reports busy until it ends.
    const reader = new Database(join(s.dir, 'ads.db'), { readonly: true });
    reader.pragma('busy_timeout = 0');
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM reservations').get();
    setTimeout(() => {
      reader.exec('COMMIT');
      reader.close();
    }, 100);
    expect((await s.call('POST', '/v1/users/erase', client.key, { user: 'busy-erase' })).status).toBe(204);
    expect(walBytes()).not.toContain(uid);
  });
});
