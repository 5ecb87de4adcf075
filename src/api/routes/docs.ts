/**
 * GET /docs: an interactive API reference (Swagger UI) over /openapi.json that
 * works offline. Swagger UI comes from the swagger-ui-dist package and is
 * served by this app (/docs/assets/...), so the page's CSP allows scripts and
 * styles from this origin only, and no inline script at all.
 */
import type { App } from '../openapi.js';
import { loadSwaggerAsset, type SwaggerAssetName } from './docs-assets/load.js';

const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ dom_id: '#swagger-ui', url: '/openapi.json', deepLinking: true, validatorUrl: null });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Status-feed ad serving engine — API reference</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
    <!-- No tab icon: without this the browser asks for /favicon.ico, a 404 in its console. -->
    <link rel="icon" href="data:," />
  </head>
  <body>
    <main id="swagger-ui"></main>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/initializer.js"></script>
  </body>
</html>`;

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  // The document and "Try it out" calls go to this origin only.
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<SwaggerAssetName, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

export function registerDocsRoute(app: App) {
  app.get('/docs', (c) => c.html(PAGE, 200, { 'Content-Security-Policy': DOCS_CSP, 'Cache-Control': 'public, max-age=3600' }));
  app.get('/docs/assets/:name', async (c) => {
    const name = c.req.param('name');
    const cache = { 'Cache-Control': 'public, max-age=86400' };
    if (name === 'initializer.js')
      return c.body(INITIALIZER, 200, { 'Content-Type': 'text/javascript; charset=utf-8', ...cache });
    if (!(name in TYPES)) return c.text('Not found', 404);
    const body = await loadSwaggerAsset(name as SwaggerAssetName);
    return c.body(body, 200, { 'Content-Type': TYPES[name as SwaggerAssetName], ...cache });
  });
}
