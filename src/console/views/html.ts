/**
 * The console's markup is written with hono's `html` tagged template, not
 * hono/jsx: since hono 4.12.27 jsx renders inside an AsyncLocalStorage, and on
 * Node 20 the first `AsyncLocalStorage.run` turns on promise hooks for the
 * whole process, which made every later slot request ~15 % dearer
 * (bench/README.md). In `html`, an interpolated string is escaped (& < > " '),
 * a number is written as it is, false, null and undefined are left out, arrays
 * are joined, and a nested `html` result stays markup.
 */
import { html as honoHtml } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** Markup that is already escaped. */
export type Html = HtmlEscapedString;

/** What a view may interpolate: text (escaped), numbers, markup, nothing, or lists of these. */
export type Content = Html | string | number | boolean | null | undefined | readonly Content[];

/** Every value the console interpolates is synchronous, so the result is too. */
export function html(strings: TemplateStringsArray, ...values: Content[]): Html {
  const out = honoHtml(strings, ...values);
  if (out instanceof Promise) throw new Error('console markup must not interpolate a promise');
  return out;
}

/**
 * One optional attribute, with a leading space: left out when the value is
 * null, undefined or false; `name=""` when it is true (boolean attributes such
 * as required or selected); otherwise `name="value"` with the value escaped.
 */
export function attr(name: string, value: string | number | boolean | null | undefined): Html | '' {
  if (value === null || value === undefined || value === false) return '';
  if (value === true) return html` ${name}=""`;
  return html` ${name}="${value}"`;
}
