import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeService, type TestService } from '../helpers/service.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

describe('GET /openapi.json', () => {
  let s: TestService;
  let doc: any;
  beforeAll(async () => {
    s = await makeService();
    const res = await s.app.request('/openapi.json');
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(() => s.close());

  const operations = () =>
    Object.entries<any>(doc.paths).flatMap(([path, item]) =>
      Object.entries<any>(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ path, method, op })),
    );

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator does reject a broken document.
    const broken = structuredClone(doc);
    broken.paths['/healthz'].get.responses = 'none';
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('lists every route the app serves', () => {
    const documented = new Set(operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    const served = new Set(
      s.app.routes
        .filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json' && !/^\/(docs|console)(\/|$)/.test(r.path))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    expect(served.size).toBeGreaterThan(20);
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
    expect(documented.has('HEAD /media/{sha256}')).toBe(true);
  });

  it('lists the error responses of every route as problem+json', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const statuses = Object.keys(op.responses);
      expect(statuses, where).toContain('500');
      for (const status of statuses.filter((st) => Number(st) >= 400)) {
        expect(Object.keys(op.responses[status].content ?? {}), `${where} ${status}`).toEqual(['application/problem+json']);
      }
      // 429 on every route that takes a key: repeated failed keys from one address are throttled (operator routes too).
      if (op.security) expect(statuses, where).toEqual(expect.arrayContaining(['401', '403', '429']));
      if (op.requestBody) expect(statuses, where).toEqual(expect.arrayContaining(['400', '413', '415']));
      if (path.includes('{')) expect(statuses, where).toContain('404');
      if (path.startsWith('/v1/')) expect(statuses, `${where} (rate limited)`).toContain('429');
    }
  });

  it('documents the upload limits and media rules where developers look', () => {
    const upload = doc.paths['/v1/campaigns/{id}/creatives'].post;
    expect(upload.summary).toMatch(/5 MB.*16 MB.*30 s/);
    expect(Object.keys(upload.requestBody.content)).toEqual(['multipart/form-data']);
    expect(Object.keys(upload.responses)).toEqual(expect.arrayContaining(['201', '413', '415', '422']));
    const media = doc.paths['/media/{sha256}'].get;
    expect(Object.keys(media.responses)).toEqual(expect.arrayContaining(['200', '206', '304', '416']));
    expect(media.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['header:range', 'header:if-none-match', 'path:sha256']),
    );
  });
});

describe('GET /docs', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await makeService();
  });
  afterAll(() => s.close());

  it('serves an interactive reference over /openapi.json under a strict CSP', async () => {
    const res = await s.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    const html = await res.text();
    // Works offline: Swagger UI comes from this app (the swagger-ui-dist package), nothing from another origin.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>/);
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/initializer.js']);
    const bundle = await s.app.request(scripts[0]);
    expect(bundle.headers.get('Content-Type')).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toContain('SwaggerUIBundle');
    expect(await (await s.app.request(scripts[1])).text()).toContain("url: '/openapi.json'");

    const csp = res.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
  });
});
