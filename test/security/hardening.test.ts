/** The hardening suite (./hardening-suite.ts) on Node, in-process and on the real server where the wire matters. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer } from '../../src/privacy/pseudonym.js';
import { makeWorld, type World } from '../helpers/isolation.js';
import { png } from '../helpers/media.js';
import { ADMIN, http, type RealServer, removeDir, seed, startServer, stopServer } from '../helpers/server.js';
import { makeService } from '../helpers/service.js';
import { hardeningSuite } from './hardening-suite.js';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(() => w?.s.close());

hardeningSuite('Node', () => w);

describe('pseudonyms', () => {
  it('the pseudonymiser itself refuses ill-formed ids, so no caller can collapse two ids into one', async () => {
    const pseudonymize = createPseudonymizer('s');
    for (const id of ['surr-\ud800x', 'surr-\udc00x', 'a\u0000']) await expect(pseudonymize(id)).rejects.toThrow(RangeError);
    const ok = await Promise.all(['surr-\ufffdx', 'surr-x', '😀'].map(pseudonymize));
    expect(new Set(ok).size).toBe(3);
  });
});

describe('Node on the wire', () => {
  let server: RealServer;
  let seeded: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    server = await startServer();
    seeded = await seed(server, png(90, 160, 3));
  }, 30_000);
  afterAll(async () => {
    await stopServer(server);
    removeDir(server?.dir);
  });

  it('204 answers carry no Content-Type (block, unblock, erase, OPTIONS)', async () => {
    for (const path of ['/v1/users/block', '/v1/users/unblock', '/v1/users/erase']) {
      const body = path.endsWith('erase') ? { user: 'u-204' } : { user: 'u-204', advertiser: seeded.advertiserId };
      const res = await http(server, 'POST', path, seeded.clientKey, body);
      expect(res.status, path).toBe(204);
      expect(res.headers.get('content-type'), path).toBeNull();
    }
    const options = await fetch(`${server.url}/v1/slots`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toContain('POST');
    expect(options.headers.get('content-type')).toBeNull();
  });

  it('DELETE on a known path is a 405 with Allow', async () => {
    const res = await http(server, 'DELETE', '/v1/me', ADMIN);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toMatch(/GET.*PATCH|PATCH.*GET/);
  });
});

describe('call-to-action targets stored before the rule was tightened', () => {
  it('are left out of serving: a creative whose stored target breaks the rule is never served', async () => {
    const s = await makeService();
    try {
      const client = await s.newClient();
      const { creativeId } = await s.seedCampaign({ seed: 41 });
      const served = async (user: string) =>
        (await s.call('POST', '/v1/slots', client.key, { user, statuses: 10 })).body.slots.map(
          (slot: { ad: { creativeId: string } }) => slot.ad.creativeId,
        );
      expect(await served('cta-before')).toContain(creativeId);

      // A row as an older version stored it: a chat link with a prefilled text (content).
      const db = new Database(join(s.dir, 'ads.db'));
      db.prepare('UPDATE creatives SET cta_type = ?, cta_target = ? WHERE id = ?').run(
        'message',
        'https://wa.me/4930123456?text=hello',
        creativeId,
      );
      db.close();
      await s.index.refresh(true);
      expect(await served('cta-after')).not.toContain(creativeId);
    } finally {
      await s.close();
    }
  });
});
