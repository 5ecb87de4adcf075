/**
 * The one Hono application every runtime serves: error handling, limits,
 * security headers, auth per route group, and the generated OpenAPI document.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { registerConsole } from '../console/routes.js';
import { jsonLinesLog } from '../ops/log.js';
import { noopMetrics } from '../ops/metrics.js';
import type { AppDeps, AppEnv } from './context.js';
import { ApiError, handleError, problemResponse } from './errors.js';
import { createAuth, type PrincipalKind } from './middleware/auth.js';
import { authThrottle } from './middleware/auth-throttle.js';
import { bodyLimit } from './middleware/body-limit.js';
import { requireContentType } from './middleware/content-type.js';
import { methodGuard } from './middleware/method.js';
import { rateLimit } from './middleware/rate-limit.js';
import { REQUEST_ID_MAX, requestLog } from './middleware/request-log.js';
import { createOpenApiHono } from './openapi.js';
import { registerAdvertiserRoutes } from './routes/advertiser.js';
import { registerDocsRoute } from './routes/docs.js';
import { registerFeedRoutes } from './routes/feed.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOperatorRoutes } from './routes/operator.js';
import { registerPublicRoutes } from './routes/public.js';

const MiB = 1024 * 1024;
const UPLOAD_PATH = /^\/v1\/campaigns\/[^/]+\/creatives\/?$/;

export function createApp(deps: AppDeps) {
  const app = createOpenApiHono();
  app.onError(handleError);
  // Returned, not thrown: a throw here skips the security-headers middleware on the way out.
  app.notFound((c) => problemResponse(c, new ApiError('not_found', `No route ${c.req.method} ${c.req.path}`)));

  // First, so every answer (errors and 404s included) carries X-Request-Id and is logged and measured once.
  app.use('*', requestId({ limitLength: REQUEST_ID_MAX, generator: () => crypto.randomUUID() }));
  // Without a logger wired in, 5xx errors still reach stderr (as JSON lines); request lines do not.
  app.use('*', requestLog({ log: deps.log ?? jsonLinesLog('error', console.error), metrics: deps.metrics ?? noopMetrics }));

  // A locked-down CSP on every response; a page that needs more (e.g. /docs) sets its own, which is kept.
  app.use(
    '*',
    secureHeaders({
      crossOriginResourcePolicy: 'cross-origin',
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      overwrite: false,
    }),
  );
  if (deps.settings.corsOrigins.length > 0) app.use('*', cors({ origin: deps.settings.corsOrigins }));
  app.use('*', methodGuard(app));
  const limitTo = (maxSize: number, what: string) => bodyLimit({ maxSize, what });
  const jsonLimit = limitTo(MiB, 'the 1 MiB limit');
  const uploadLimit = limitTo(17 * MiB, 'the upload limit (video 16 MB, image 5 MB)');
  app.use('/v1/*', (c, next) => (UPLOAD_PATH.test(c.req.path) ? uploadLimit : jsonLimit)(c, next));

  const requireKey = createAuth({ adminKey: deps.adminKey, catalog: deps.store.catalog });
  const limits = rateLimit({
    rates: { advertiser: deps.settings.rateLimitAdvertiser, client: deps.settings.rateLimitClient },
    clock: deps.clock,
  });
  const throttled = authThrottle({
    maxFailures: deps.settings.authFailures.limit,
    windowMs: deps.settings.authFailures.windowSeconds * 1000,
    clock: deps.clock,
    clientAddress: deps.clientAddress,
  });
  // The body's type is checked only after the key: a caller without a valid key learns nothing but 401.
  const contentType = requireContentType({ multipartPaths: UPLOAD_PATH });
  const guard = (...kinds: PrincipalKind[]): MiddlewareHandler<AppEnv> => {
    const auth = throttled(requireKey(...kinds));
    return async function authAndLimit(c, next) {
      await auth(c, async () => {
        await limits(c, async () => {
          await contentType(c, next);
        });
      });
    };
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
