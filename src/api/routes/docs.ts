/**
 * GET /docs: an interactive API reference (Swagger UI) over /openapi.json.
 * Swagger UI is a pinned build loaded from jsDelivr with Subresource Integrity,
 * and the page carries a strict CSP: its one inline script is allowed by hash.
 */
import { SwaggerUI } from '@hono/swagger-ui';
import { encodeBase64 } from 'hono/utils/encode';
import type { App } from '../openapi.js';

/** swagger-ui-dist build and the SHA-384 of its two files (from the npm tarball jsDelivr serves verbatim). */
const SWAGGER_UI_VERSION = '5.35.0';
const INTEGRITY = {
  js: 'sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9',
  css: 'sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I',
};
const CDN = 'https://cdn.jsdelivr.net';

const INIT_SCRIPT = `
window.onload = () => {
  window.ui = SwaggerUIBundle({ dom_id: '#swagger-ui', url: '/openapi.json', deepLinking: true, validatorUrl: null });
};
`;

const body = SwaggerUI({
  url: '/openapi.json',
  version: SWAGGER_UI_VERSION,
  manuallySwaggerUIHtml: (asset) => `
    <div id="swagger-ui"></div>
    ${asset.css.map((url) => `<link rel="stylesheet" href="${url}" integrity="${INTEGRITY.css}" crossorigin="anonymous" />`).join('')}
    ${asset.js.map((url) => `<script src="${url}" integrity="${INTEGRITY.js}" crossorigin="anonymous"></script>`).join('')}
    <script>${INIT_SCRIPT}</script>`,
});

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Status-feed ad serving engine — API reference</title>
  </head>
  <body>${body}</body>
</html>`;

async function contentSecurityPolicy(): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(INIT_SCRIPT));
  return [
    "default-src 'none'",
    `script-src 'sha256-${encodeBase64(digest)}' ${CDN}`,
    // Swagger UI sets style attributes at run time.
    `style-src ${CDN} 'unsafe-inline'`,
    `img-src 'self' data: ${CDN}`,
    `font-src ${CDN}`,
    // The document and "Try it out" calls go to this origin only.
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function registerDocsRoute(app: App) {
  const csp = contentSecurityPolicy();
  app.get('/docs', async (c) =>
    c.html(PAGE, 200, { 'Content-Security-Policy': await csp, 'Cache-Control': 'public, max-age=3600' }),
  );
}
