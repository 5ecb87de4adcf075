/**
 * Form fields to API request bodies and API field errors back to form fields.
 * Only translation lives here: what is valid is the API's to say.
 */
import type { ProblemView } from './api.js';

/** Posted form fields; `File` only in uploads. */
export type FormFields = Record<string, string | File | (string | File)[]>;

/** Errors shown next to form fields, by field name; '' holds those that belong to no field. */
export type FieldErrors = Record<string, string[]>;

export const text = (form: FormFields, name: string): string => {
  const value = form[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : '';
};

export const all = (form: FormFields, name: string): string[] => {
  const value = form[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === 'string');
};

/** "DE, fr ,IT" → ["DE", "fr", "IT"]; the API says which entries are wrong. */
export const list = (value: string): string[] | undefined => {
  const items = value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};

const AMOUNT = /^(\d{1,12})(?:\.(\d{1,6}))?$/;

/** "2.50" → 2_500_000 micros, in integers only. Undefined when empty; NaN when it is not an amount. */
export function parseMicros(value: string): number | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const match = AMOUNT.exec(trimmed);
  if (!match) return Number.NaN;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

/** 2_500_000 → "2.50"; sub-cent amounts keep their digits (0.002) so one CPM impression is visible. */
export function formatMicros(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = String(micros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '')
    .padEnd(2, '0');
  return `${whole.toLocaleString('en-US')}.${fraction}`;
}

/** "12" → 12; undefined when empty; NaN when not a whole number. */
export function parseCount(value: string): number | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

/**
 * Maps the API's `errors[].path` to form fields: the longest matching prefix
 * in `fields` wins (e.g. "targeting.countries.2" → countries). Errors with no
 * field, and problems without `errors`, go under ''.
 */
export function fieldErrors(problem: ProblemView, fields: Record<string, string>): FieldErrors {
  const out: FieldErrors = {};
  const add = (field: string, message: string) => {
    (out[field] ??= []).push(message);
  };
  if (!problem.errors?.length) {
    add('', problem.detail);
    return out;
  }
  const prefixes = Object.keys(fields).sort((a, b) => b.length - a.length);
  for (const error of problem.errors) {
    const prefix = prefixes.find((p) => error.path === p || error.path.startsWith(`${p}.`));
    if (prefix) add(fields[prefix], error.message);
    else add('', `${error.path}: ${error.message}`);
  }
  return out;
}

/** A form's own error (before the API is called), in the same shape. */
export const oneError = (field: string, message: string): FieldErrors => ({ [field]: [message] });

export const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;

/** Today's date in UTC as YYYY-MM-DD, the API's report dates. */
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function addDays(day: string, days: number): string {
  return isoDay(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000);
}

/**
 * A campaign's end as the form shows it: the last day it runs. The API's end is the instant it stops
 * (exclusive), so an end at midnight means the day before was the last.
 */
export const lastDay = (end: string) => isoDay(Date.parse(end) - 1);

/** The form's last day → the API's end: midnight after it (UTC). Anything else is the API's to judge. */
export const endAfter = (day: string) => (/^\d{4}-\d{2}-\d{2}$/.test(day) ? addDays(day, 1) : day);

/** Every day from `from` to `to` inclusive (both YYYY-MM-DD), at most `max`. */
export function daysBetween(from: string, to: string, max = 400): string[] {
  const out: string[] = [];
  for (let day = from; day <= to && out.length < max; day = addDays(day, 1)) out.push(day);
  return out;
}
