/**
 * A slot token served by the Node server (`npm start`: real HTTP, the engine thread, a real SQLite
 * file) seals its reservation's number beside the id, so the ledger reads the reservation by number.
 * Without the claim every event would still count (read by id) and the faster read would be lost unseen.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/privacy/token.js';
import { png } from '../helpers/media.js';
import { http, type RealServer, removeDir, seed, startServer, stopServer } from '../helpers/server.js';

describe('slot tokens served on Node', () => {
  let server: RealServer | undefined;
  afterAll(async () => {
    await stopServer(server);
    removeDir(server?.dir);
  });

  it("carry the reservation's number as the file stores it", async () => {
    server = await startServer();
    const world = await seed(server, new Uint8Array(png(90, 160, 7)));
    const slots = await http(server, 'POST', '/v1/slots', world.clientKey, { user: 'numbered-user', statuses: 10 });
    expect(slots.status).toBe(200);
    const tokens = (slots.body.slots as { token: string }[]).map((s) => s.token);
    expect(tokens.length).toBeGreaterThan(0);
    const db = new Database(join(server.dir, 'ads.db'), { readonly: true });
    try {
      const numberOf = db.prepare('SELECT number FROM reservations WHERE id = ?').pluck();
      for (const token of tokens) {
        const check = await new TokenSigner('crash-test-secret').verify(token, Date.now());
        if (!check.ok) throw new Error(`a served token does not verify: ${check.reason}`);
        expect(Number.isSafeInteger(check.claims.reservationNumber)).toBe(true);
        expect(check.claims.reservationNumber).toBeGreaterThan(0);
        expect(check.claims.reservationNumber).toBe(numberOf.get(check.claims.reservationId));
      }
    } finally {
      db.close();
    }
    const events = await http(server, 'POST', '/v1/events', world.clientKey, {
      events: [{ token: tokens[0], type: 'impression' }],
    });
    expect(events.status).toBe(200);
    expect(events.body.results).toEqual([{ status: 'accepted' }]);
  });
});
