/**
 * A slot token served by the Node server (`npm start`: real HTTP, the engine thread, a real SQLite file) is a
 * handle: 31 characters naming its reservation by number and expiry, exactly as the file stores them, for the
 * client it was served to. An event and "why this ad" with it find the reservation; another client's do not.
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

  it("are handles: the reservation's number and expiry as the file stores them", async () => {
    server = await startServer();
    const world = await seed(server, new Uint8Array(png(90, 160, 7)));
    const slots = await http(server, 'POST', '/v1/slots', world.clientKey, { user: 'numbered-user', statuses: 10 });
    expect(slots.status).toBe(200);
    const tokens = (slots.body.slots as { token: string }[]).map((s) => s.token);
    expect(tokens.length).toBeGreaterThan(0);
    const db = new Database(join(server.dir, 'ads.db'), { readonly: true });
    try {
      const expiryOf = db.prepare('SELECT expires_at FROM reservations WHERE number = ?').pluck();
      const signer = new TokenSigner('crash-test-secret');
      for (const token of tokens) {
        expect(token).toMatch(/^[\w-]{8}\.[\w-]{22}$/);
        const check = await signer.verify(token, Date.now(), world.clientId);
        if (!check.ok || !('handle' in check)) throw new Error(`a served token is no handle: ${JSON.stringify(check)}`);
        expect(check.handle.reservationNumber).toBeGreaterThan(0);
        expect(check.handle.expiresAt).toBe(expiryOf.get(check.handle.reservationNumber));
        // Another client's view of the same token: refused like a forged one.
        expect(await signer.verify(token, Date.now(), `${world.clientId}x`)).toEqual({ ok: false, reason: 'bad_signature' });
      }
    } finally {
      db.close();
    }
    const why = await http(server, 'POST', '/v1/why', world.clientKey, { token: tokens[0] });
    expect(why.status).toBe(200);
    expect(why.body.advertiser.id).toBe(world.advertiserId);
    const events = await http(server, 'POST', '/v1/events', world.clientKey, {
      events: [{ token: tokens[0], type: 'impression' }],
    });
    expect(events.status).toBe(200);
    expect(events.body.results).toEqual([{ status: 'accepted' }]);
  });
});
