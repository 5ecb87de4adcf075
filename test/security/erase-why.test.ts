/**
 * Erase leaves nothing to ask about (issue 11, item 10): after POST /v1/users/erase, a slot
 * token that user was given (still signed and unexpired) makes POST /v1/why answer nothing
 * about them, on Node and on the Worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeService } from '../helpers/service.js';
import { makeWorkerService } from '../helpers/worker.js';

type Service = Awaited<ReturnType<typeof makeService>> | Awaited<ReturnType<typeof makeWorkerService>>;

for (const [name, make] of [
  ['node', () => makeService()],
  ['worker', () => makeWorkerService()],
] as const) {
  describe(`erase then why (${name})`, () => {
    let s: Service;
    let clientKey: string;
    beforeAll(async () => {
      s = await make();
      clientKey = (await s.newClient()).key;
      await s.seedCampaign();
    }, 60_000);
    afterAll(() => s?.close());

    it('answers nothing about an erased user, even for a token that still verifies', async () => {
      const served = await s.call('POST', '/v1/slots', clientKey, { user: 'gone-user', statuses: 5 });
      const token = served.body.slots[0].token as string;
      const other = (await s.call('POST', '/v1/slots', clientKey, { user: 'kept-user', statuses: 5 })).body.slots[0]
        .token as string;
      expect((await s.call('POST', '/v1/why', clientKey, { token })).status).toBe(200);

      expect((await s.call('POST', '/v1/users/erase', clientKey, { user: 'gone-user' })).status).toBe(204);
      const why = await s.call('POST', '/v1/why', clientKey, { token });
      expect(why.status).toBe(400);
      expect(JSON.stringify(why.body)).not.toMatch(/Bakery|advertiser/i);
      // Other users are untouched.
      expect((await s.call('POST', '/v1/why', clientKey, { token: other })).status).toBe(200);
    });
  });
}
