/**
 * The 405 guard on paths the console serves: a POST-only console path asked with GET is a 405 whose `Allow` names
 * POST (not the console's "page not found"), `Allow` never lists a method the path does not take, and a path no
 * route knows stays a 404 whatever the method. The catch-all page itself still answers unknown console pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeAll(async () => {
  s = await makeService();
});
afterAll(() => s.close());

const allowOf = (res: Response) => (res.headers.get('allow') ?? '').split(/,\s*/).filter(Boolean).sort();

describe('405 and Allow on console paths', () => {
  it.each(['/console/sign-in', '/console/sign-out', '/console/campaigns/cmp_1/status', '/console/review/crv_1'])(
    'GET %s (it takes POST) is a 405 with Allow: POST, OPTIONS',
    async (path) => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await s.app.request(path, { method });
        await res.arrayBuffer();
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(allowOf(res), `${method} ${path}`).toEqual(['OPTIONS', 'POST']);
      }
    },
  );

  it('a page that takes GET and POST lists exactly those', async () => {
    const res = await s.app.request('/console/campaigns/new', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(allowOf(res)).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
  });

  it('an unknown console path is a 404 with any method; GET still gets the console page saying so', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await s.app.request('/console/nowhere', { method });
      await res.arrayBuffer();
      expect(res.status, method).toBe(404);
    }
    const page = await s.app.request('/console/nowhere');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('There is no console page at /console/nowhere.');
  });
});
