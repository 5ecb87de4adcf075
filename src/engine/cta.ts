/**
 * What a call to action may point at. One home for the rule: the API refuses a
 * target that breaks it, and the serving index leaves out a stored creative whose
 * target breaks it (rows written before the rule was tightened).
 */

import type { Cta } from './types.js';

export const CTA_TYPES = ['message', 'website', 'call'] as const;

/** E.164: "+", a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{1,14}$/;
/** The messenger's click-to-chat link: https://wa.me/<the E.164 number's digits>, nothing else. */
const CHAT_LINK = /^https:\/\/wa\.me\/[1-9]\d{1,14}$/;

/** An absolute http(s) URL with a host and no credentials, exactly as sent (no control characters or spaces). */
export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\/[^\s\0-\x1f\x7f]+$/i.test(value) || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' && url.username === '' && url.password === ''
  );
}

/** Why `target` is not a valid call-to-action target of `type`, or undefined if it is. */
export function ctaTargetProblem(type: Cta['type'], target: string): string | undefined {
  switch (type) {
    case 'website':
      return isHttpUrl(target)
        ? undefined
        : 'a website target must be an absolute https:// (or http://) URL, e.g. "https://bakery.example/menu"';
    case 'call':
      return E164.test(target) ? undefined : 'a call target must be an E.164 phone number, e.g. "+4930123456"';
    case 'message':
      return E164.test(target) || CHAT_LINK.test(target)
        ? undefined
        : 'a message target must be an E.164 phone number (e.g. "+4930123456") or a chat link "https://wa.me/4930123456"';
    default:
      return `unknown call-to-action type "${String(type)}"`;
  }
}
