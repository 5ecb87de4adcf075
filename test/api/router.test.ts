/**
 * The app's router remembers the match of static paths: it must answer exactly what Hono's trie
 * router answers for the whole route table, on static, parameterised and unknown paths.
 */
import { TrieRouter } from 'hono/router/trie-router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticMatchRouter } from '../../src/api/router.js';
import { makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeAll(async () => {
  s = await makeService();
});
afterAll(() => s.close());

describe('StaticMatchRouter', () => {
  it('matches like the trie router on every route of the app, and unknown paths', () => {
    const ours = new StaticMatchRouter<string>();
    const trie = new TrieRouter<string>();
    s.app.routes.forEach((route, i) => {
      ours.add(route.method, route.path, `${i}`);
      trie.add(route.method, route.path, `${i}`);
    });
    const paths = [
      ...new Set(s.app.routes.map((r) => r.path.replace(/:[^/]+/g, 'x_1').replace(/\*$/, 'anything'))),
      '/',
      '/v1/slots/',
      '/v1/nothing',
      '/v1/campaigns/cmp_1/creatives',
      '/media/../../etc/passwd',
      '/console/campaigns/new',
    ];
    for (const path of paths)
      for (const method of ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']) {
        // Twice: the second answer of a static path comes from memory.
        expect(ours.match(method, path), `${method} ${path}`).toEqual(trie.match(method, path));
        expect(ours.match(method, path), `${method} ${path}`).toEqual(trie.match(method, path));
      }
  });

  it('forgets what it remembered when a route is added', () => {
    const router = new StaticMatchRouter<string>();
    router.add('POST', '/v1/slots', 'slots');
    expect(router.match('POST', '/v1/slots')[0].map(([h]) => h)).toEqual(['slots']);
    router.add('ALL', '/v1/*', 'limit');
    expect(router.match('POST', '/v1/slots')[0].map(([h]) => h)).toEqual(['slots', 'limit']);
  });
});
