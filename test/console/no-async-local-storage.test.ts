/**
 * Rendering a console page must not run an AsyncLocalStorage. On Node 20 the
 * first `AsyncLocalStorage.run` turns on promise hooks for the whole process,
 * for good, and every later slot request then costs ~15 % more CPU
 * (bench/README.md, session 5). hono 4.13's jsx renders inside one; we pin
 * hono to 4.12 (README, dependencies). The console's components are
 * synchronous, so nothing needs the storage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeAll(async () => {
  s = await makeService();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await s.close();
});

it('renders console pages, signed out and signed in, without running an AsyncLocalStorage', async () => {
  const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
  const enterWith = vi.spyOn(AsyncLocalStorage.prototype, 'enterWith');

  const start = await s.app.request('/console');
  expect(start.status).toBe(200);
  const html = await start.text();
  expect(html).toContain('<form');
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
  const signedIn = await s.app.request('/console/sign-in', {
    method: 'POST',
    headers: { Cookie: start.headers.getSetCookie()[0].split(';')[0], Origin: 'http://localhost' },
    body: new URLSearchParams({ csrf, apiKey: ADMIN_KEY }),
  });
  const cookie = signedIn.headers
    .getSetCookie()
    .find((l) => l.startsWith('console_session='))!
    .split(';')[0];
  const landing = await s.app.request(signedIn.headers.get('Location')!, { headers: { Cookie: cookie } });
  expect(landing.status).toBe(200);
  expect(await landing.text()).toContain('<main');

  expect(run).not.toHaveBeenCalled();
  expect(enterWith).not.toHaveBeenCalled();
});
