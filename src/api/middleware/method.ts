/**
 * A known path with a method it does not serve is a 405 with `Allow`, before any
 * key is looked at: which methods a path takes is public (it is in /openapi.json).
 * OPTIONS (when CORS does not answer it) is a 204 with `Allow`.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { ApiError, problemResponse } from '../errors.js';

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

/** `/v1/campaigns/:id` → /^\/v1\/campaigns\/[^/]+$/; `*` matches the rest. */
function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

export function methodGuard(app: Hono<any, any, any>): MiddlewareHandler {
  // Built on first use, when every route has been registered.
  let table: { exact: Map<string, Set<string>>; patterns: PathMethods[] } | undefined;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      // Middleware (app.use) registers as ALL: it says nothing about which methods a path serves. Nor does a
      // catch-all page (the console's GET /console/* "page not found"): counted, it made every console path take
      // GET (a GET of the sign-out form's path a 404 page, not a 405) and an unknown one refuse POST with a 405.
      if (route.method === 'ALL' || route.path.endsWith('/*')) continue;
      const methods = byPath.get(route.path) ?? new Set<string>();
      methods.add(route.method.toUpperCase());
      if (route.method.toUpperCase() === 'GET') methods.add('HEAD');
      byPath.set(route.path, methods);
    }
    const exact = new Map<string, Set<string>>();
    const patterns: PathMethods[] = [];
    for (const [path, methods] of byPath) {
      if (/[:*]/.test(path)) patterns.push({ pattern: patternOf(path), methods });
      else exact.set(path, methods);
    }
    return { exact, patterns };
  };

  // Not async: the common case hands straight on to `next` without a promise of its own.
  return function allowedMethods(c, next) {
    table ??= build();
    const method = c.req.method.toUpperCase();
    const path = c.req.path;
    // The hot routes are static paths: one map lookup.
    const exact = table.exact.get(path);
    if (exact?.has(method)) return next();
    let allowed: Set<string> | undefined = exact && new Set(exact);
    for (const entry of table.patterns) {
      if (!entry.pattern.test(path)) continue;
      if (entry.methods.has(method)) return next();
      allowed ??= new Set();
      for (const m of entry.methods) allowed.add(m);
    }
    if (!allowed) return next();
    const allow = [...allowed, 'OPTIONS'].join(', ');
    if (method === 'OPTIONS') return Promise.resolve(c.body(null, 204, { Allow: allow }));
    return Promise.resolve(
      problemResponse(
        c,
        new ApiError('method_not_allowed', `${path} does not take ${method}; it takes ${allow}`, undefined, { Allow: allow }),
      ),
    );
  };
}
