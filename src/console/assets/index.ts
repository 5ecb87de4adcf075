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

/** The tab icon: without one the browser asks for /favicon.ico, a 404 logged on every page. */
const CONSOLE_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#14213d"/><rect x="9" y="5" width="14" height="22" rx="3" fill="#25d366"/></svg>';

export const ASSETS: Record<string, { body: string; type: string }> = {
  [`icon-${fnv1a(CONSOLE_ICON)}.svg`]: { body: CONSOLE_ICON, type: 'image/svg+xml' },
  [`console-${fnv1a(CONSOLE_CSS)}.css`]: { body: CONSOLE_CSS, type: 'text/css; charset=utf-8' },
  [`console-${fnv1a(CONSOLE_JS)}.js`]: { body: CONSOLE_JS, type: 'text/javascript; charset=utf-8' },
};

const names = Object.keys(ASSETS);
export const ASSET_PATHS = {
  css: `/console/assets/${names.find((n) => n.endsWith('.css'))}`,
  js: `/console/assets/${names.find((n) => n.endsWith('.js'))}`,
  icon: `/console/assets/${names.find((n) => n.endsWith('.svg'))}`,
};
