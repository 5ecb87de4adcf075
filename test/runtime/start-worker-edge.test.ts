/**
 * `npm run start:worker` end to end through its local edge (src/runtime/local-edge.ts) in front of workerd: what a
 * client sends that only the edge handles. A body sent after `Expect: 100-continue` (curl's way above 1 MiB) reaches
 * the Worker, and the Worker sees the client's Host, so the console's same-origin check lets a sign-in through.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type RealServer, startServer, stopServer } from '../helpers/server.js';

let server: RealServer;

beforeAll(async () => {
  server = await startServer({ worker: true });
}, 120_000);

afterAll(async () => {
  if (server) await stopServer(server);
});

/** POSTs `body` as node:http does with `Expect: 100-continue`: the body goes only once the server says continue. */
function postExpectingContinue(path: string, body: string): Promise<{ status: number; continued: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request(
      `${server.url}${path}`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${ADMIN}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          Expect: '100-continue',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, text }));
      },
    );
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('error', reject);
  });
}

describe('npm run start:worker: what the local edge handles', () => {
  it('a body sent after Expect: 100-continue reaches the Worker', async () => {
    const answer = await postExpectingContinue('/v1/advertisers', JSON.stringify({ name: 'Continue Bakery' }));
    expect(answer.continued).toBe(true);
    expect(answer.status, answer.text).toBe(201);
    expect(JSON.parse(answer.text).advertiser.name).toBe('Continue Bakery');
  }, 30_000);

  it('the Worker sees the client’s Host: a console sign-in from the page’s own origin goes through', async () => {
    const page = await fetch(`${server.url}/console`);
    const cookie = (page.headers.getSetCookie()[0] ?? '').split(';')[0];
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
    expect(csrf).toBeDefined();
    const signIn = await fetch(`${server.url}/console/sign-in`, {
      method: 'POST',
      headers: { Origin: server.url, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrf as string, apiKey: ADMIN }),
      redirect: 'manual',
    });
    expect(signIn.status, await signIn.text()).toBe(303);
    expect(signIn.headers.get('location')).toBe('/console/review');
  }, 30_000);
});
