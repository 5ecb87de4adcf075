/**
 * Content-Type headers written as RFC 9110 allows and clients send them (a space before ";", parameters after a
 * multipart boundary), over real HTTP on both runtimes: `npm start`, and `npm run start:worker` where workerd's
 * incoming request headers cannot be changed in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creativeForm, png } from '../helpers/media.js';
import { ADMIN, type RealServer, removeDir, startServer, stopServer } from '../helpers/server.js';

describe.each([
  ['npm start', false],
  ['npm run start:worker', true],
])('%s: content types as clients write them', (_name, worker) => {
  let server: RealServer;
  beforeAll(async () => {
    server = await startServer({ worker });
  }, 120_000);
  afterAll(async () => {
    await stopServer(server, 'SIGTERM');
    removeDir(server?.dir);
  });

  it('takes JSON and multipart bodies whose type has spaces, quotes or parameters in another order', async () => {
    const post = (path: string, key: string, type: string, body: BodyInit) =>
      fetch(server.url + path, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': type }, body });
    const created = await post(
      '/v1/advertisers',
      ADMIN,
      'application/json ; charset="UTF-8"',
      JSON.stringify({ name: 'Spaced' }),
    );
    expect(created.status, await created.clone().text()).toBe(201);
    const key = ((await created.json()) as { apiKey: string }).apiKey;
    const campaign = await post(
      '/v1/campaigns',
      key,
      'application/json;',
      JSON.stringify({ bid: { type: 'cpm', amountMicros: 1_000_000 } }),
    );
    expect(campaign.status, await campaign.clone().text()).toBe(201);
    const { id } = (await campaign.json()) as { id: string };

    const encoded = new Response(creativeForm(png(4, 4)));
    const boundary = /boundary=(.+)$/.exec(encoded.headers.get('Content-Type') ?? '')?.[1];
    const bytes = new Uint8Array(await encoded.arrayBuffer());
    const upload = await post(
      `/v1/campaigns/${id}/creatives`,
      key,
      `multipart/form-data; boundary=${boundary}; charset=UTF-8`,
      bytes,
    );
    expect(upload.status, await upload.clone().text()).toBe(201);
    expect(((await upload.json()) as { media: object }).media).toMatchObject({ mime: 'image/png', width: 4 });

    const refused = await post('/v1/clients', ADMIN, 'application/json x', JSON.stringify({ name: 'No' }));
    expect(refused.status).toBe(415);
    expect(((await refused.json()) as { detail: string }).detail).toBe('Send the body as application/json');
  }, 60_000);
});
