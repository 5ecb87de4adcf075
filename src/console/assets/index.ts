/** The console's static assets, bundled as strings so Node and Workers serve them the same way. */
import { CONSOLE_JS } from './script.js';
import { CONSOLE_CSS } from './style.js';

/** A short content hash in the URL, so the assets can be cached for a long time and still change on deploy. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

export const ASSETS: Record<string, { body: string; type: string }> = {
  [`console-${fnv1a(CONSOLE_CSS)}.css`]: { body: CONSOLE_CSS, type: 'text/css; charset=utf-8' },
  [`console-${fnv1a(CONSOLE_JS)}.js`]: { body: CONSOLE_JS, type: 'text/javascript; charset=utf-8' },
};

const names = Object.keys(ASSETS);
export const ASSET_PATHS = {
  css: `/console/assets/${names.find((n) => n.endsWith('.css'))}`,
  js: `/console/assets/${names.find((n) => n.endsWith('.js'))}`,
};
