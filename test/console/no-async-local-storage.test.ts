/**
 * Rendering a console page must not run an AsyncLocalStorage. On Node 20 the
 * first `AsyncLocalStorage.run` turns on promise hooks for the whole process,
 * for good, and every later slot request then costs ~15 % more CPU
 * (bench/README.md, session 5). hono/jsx renders inside one since hono
 * 4.12.27, so the console is written with hono's `html` templates instead
 * (src/console/views/html.ts). This walks every console route.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { makeService, type TestService } from '../helpers/service.js';
import { consoleTour } from './tour.js';

let s: TestService;
beforeAll(async () => {
  s = await makeService();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await s.close();
});

it('renders every console page, signed out, as operator and as advertiser, without running an AsyncLocalStorage', async () => {
  const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
  const enterWith = vi.spyOn(AsyncLocalStorage.prototype, 'enterWith');

  const visits = await consoleTour(s);

  // The walk reached every route the console registers, and rendered pages (not only redirects).
  const registered = new Set(
    s.app.routes
      .filter((r) => r.path.startsWith('/console') && ['GET', 'POST'].includes(r.method))
      .map((r) => `${r.method} ${r.path}`),
  );
  const visited = new Set(visits.map((v) => v.route.replace(/ \(.*\)$/, '')));
  expect([...registered].filter((r) => !visited.has(r))).toEqual([]);
  expect(visits.filter((v) => v.html.includes('<main')).length).toBeGreaterThan(20);

  expect(run).not.toHaveBeenCalled();
  expect(enterWith).not.toHaveBeenCalled();
});
