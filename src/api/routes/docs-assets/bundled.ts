/**
 * Swagger UI as text modules, for Worker bundles (esbuild in src/runtime/miniflare.ts,
 * and wrangler with the Text rule in wrangler.toml). Node never imports this file.
 */
import css from 'swagger-ui-dist/swagger-ui.css' with { type: 'text' };
import bundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'text' };

export const SWAGGER_ASSETS = { 'swagger-ui.css': css, 'swagger-ui-bundle.js': bundle };
