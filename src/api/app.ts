/**
 * The one Hono application every runtime serves: error handling, limits,
 * security headers, auth per route group, and the generated OpenAPI document.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';
import { cors } from 'hono/cors';
import { registerConsole } from '../console/routes.js';
import type { AppDeps, AppEnv, Principal } from './context.js';
import { createEdge, type Edge, JSON_BODY_LIMIT } from './edge.js';
import { ApiError, handleError, problemResponse } from './errors.js';
import { type PrincipalKind, WrongKeyKind } from './middleware/auth.js';
import { authThrottle } from './middleware/auth-throttle.js';
import { bodyLimit, UPLOAD_PATH } from './middleware/body-limit.js';
import { requireContentType } from './middleware/content-type.js';
import { methodGuard } from './middleware/method.js';
import { isPartOfCountedRequest } from './middleware/rate-limit.js';
import { requestLog } from './middleware/request-log.js';
import { createOpenApiHono } from './openapi.js';
import { registerAdvertiserRoutes } from './routes/advertiser.js';
import { registerDocsRoute } from './routes/docs.js';
import { registerFeedRoutes } from './routes/feed.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOperatorRoutes } from './routes/operator.js';
import { registerPublicRoutes } from './routes/public.js';

const MiB = 1024 * 1024;
/** The app; `edge` (the rules before each route) is passed in when the Node slot lane shares it. */
export function createApp(deps: AppDeps, edge: Edge = createEdge(deps)) {
  const app = createOpenApiHono();
  app.onError(handleError);
  // Returned, not thrown: a throw here skips the security-headers middleware on the way out.
  app.notFound((c) => problemResponse(c, new ApiError('not_found', `No route ${c.req.method} ${c.req.path}`)));

  // First, so every answer (errors and 404s included) carries X-Request-Id and the security headers
  // (a locked-down CSP; a page that needs more, e.g. /docs, sets its own, which is kept), and is logged and measured once.
  app.use('*', requestLog(edge.record));
  if (deps.settings.corsOrigins.length > 0) app.use('*', cors({ origin: deps.settings.corsOrigins }));
  app.use('*', methodGuard(app));
  const limitTo = (maxSize: number, what: string) => bodyLimit({ maxSize, what });
  const jsonLimit = limitTo(JSON_BODY_LIMIT, 'the 1 MiB limit');
  const uploadLimit = limitTo(17 * MiB, 'the upload limit (video 16 MB, image 5 MB)');
  app.use('/v1/*', (c, next) => (UPLOAD_PATH.test(c.req.path) ? uploadLimit : jsonLimit)(c, next));

  const { authenticate, limitRate } = edge;
  const authFailed = authThrottle({
    maxFailures: deps.settings.authFailures.limit,
    windowMs: deps.settings.authFailures.windowSeconds * 1000,
    clock: deps.clock,
    clientAddress: deps.clientAddress,
  });
  // The body's type is checked only after the key: a caller without a valid key learns nothing but 401.
  const contentType = requireContentType({ multipartPaths: UPLOAD_PATH });
  // Key, failed-key throttle, rate limit and content type in one middleware, not async: a known key hands
  // straight on to `next` without a promise of its own; only a cold key waits for its lookup.
  const admitted = (c: Context<AppEnv>, principal: Principal, next: Next) => {
    c.set('principal', principal);
    if (!isPartOfCountedRequest(c.req.raw)) limitRate(principal);
    contentType(c);
    return next();
  };
  // A refused key: a valid one of the wrong kind still names its caller in the log line; a bad one counts.
  const refused = (c: Context<AppEnv>, err: unknown) => {
    if (err instanceof WrongKeyKind) c.set('principal', err.principal);
    return authFailed(c, err);
  };
  const guard = (...kinds: PrincipalKind[]): MiddlewareHandler<AppEnv> =>
    function authAndLimit(c, next) {
      let found: Principal | Promise<Principal>;
      try {
        found = authenticate(c.req.header('Authorization'), kinds);
      } catch (err) {
        throw refused(c, err);
      }
      if (!(found instanceof Promise)) return admitted(c, found, next);
      return found.then(
        (principal) => admitted(c, principal, next),
        (err) => {
          throw refused(c, err);
        },
      );
    };

  registerOperatorRoutes(app, deps, guard('admin'));
  registerAdvertiserRoutes(app, deps, guard('advertiser'));
  registerFeedRoutes(app, deps, guard('client'));
  registerPublicRoutes(app, deps);
  registerHealthRoutes(app, deps, guard('admin'));
  registerDocsRoute(app);
  registerConsole(app, deps);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Status-feed ad serving engine',
      version: '1.0.0',
      description:
        'Places sponsored statuses in messenger status feeds. It only sees ad metadata and opaque ids, never message content.',
    },
  });
  return app;
}

export type { AppType } from './app-type.js';
