/** The campaign form: its fields, the API body they make, and where the API's errors go back to. */
import type { CampaignView } from './api.js';
import {
  all,
  endAfter,
  type FieldErrors,
  type FormFields,
  formatMicros,
  isoDay,
  lastDay,
  list,
  parseCount,
  parseMicros,
  text,
} from './forms.js';

export interface CampaignFormValues {
  name: string;
  status: string;
  start: string;
  end: string;
  bidType: string;
  bidAmount: string;
  dailyBudget: string;
  totalBudget: string;
  pacing: string;
  countries: string;
  languages: string;
  platforms: string[];
  capImpressions: string;
  capHours: string;
}

export const CAMPAIGN_LABELS: Record<keyof CampaignFormValues, string> = {
  name: 'Campaign name',
  status: 'Status',
  start: 'Start date',
  end: 'End date',
  bidType: 'Bid type',
  bidAmount: 'Bid amount',
  dailyBudget: 'Daily budget',
  totalBudget: 'Total budget',
  pacing: 'Pacing',
  countries: 'Countries',
  languages: 'Languages',
  platforms: 'Platforms',
  capImpressions: 'Frequency cap: impressions per person',
  capHours: 'Frequency cap: window in hours',
};

/** API error paths → form fields (longest prefix wins). */
export const CAMPAIGN_ERROR_FIELDS: Record<string, keyof CampaignFormValues> = {
  name: 'name',
  status: 'status',
  schedule: 'start',
  'schedule.start': 'start',
  'schedule.end': 'end',
  bid: 'bidAmount',
  'bid.type': 'bidType',
  'bid.amountMicros': 'bidAmount',
  budget: 'dailyBudget',
  'budget.dailyMicros': 'dailyBudget',
  'budget.totalMicros': 'totalBudget',
  pacing: 'pacing',
  targeting: 'countries',
  'targeting.countries': 'countries',
  'targeting.languages': 'languages',
  'targeting.platforms': 'platforms',
  caps: 'capImpressions',
  'caps.0.impressions': 'capImpressions',
  'caps.0.windowSeconds': 'capHours',
};

export function blankCampaign(now: number): CampaignFormValues {
  return {
    name: '',
    status: 'active',
    start: isoDay(now),
    end: '',
    bidType: 'cpm',
    bidAmount: '',
    dailyBudget: '',
    totalBudget: '',
    pacing: 'even',
    countries: '',
    languages: '',
    platforms: [],
    capImpressions: '',
    capHours: '',
  };
}

export function campaignValues(c: CampaignView): CampaignFormValues {
  const cap = c.caps[0];
  return {
    name: c.name,
    status: c.status,
    start: c.schedule.start.slice(0, 10),
    end: c.schedule.end ? lastDay(c.schedule.end) : '',
    bidType: c.bid.type,
    bidAmount: formatMicros(c.bid.amountMicros).replace(/,/g, ''),
    dailyBudget: c.budget.dailyMicros !== undefined ? formatMicros(c.budget.dailyMicros).replace(/,/g, '') : '',
    totalBudget: c.budget.totalMicros !== undefined ? formatMicros(c.budget.totalMicros).replace(/,/g, '') : '',
    pacing: c.pacing,
    countries: (c.targeting.countries ?? []).join(', '),
    languages: (c.targeting.languages ?? []).join(', '),
    platforms: c.targeting.platforms ?? [],
    capImpressions: cap ? String(cap.impressions) : '',
    capHours: cap ? String(Number((cap.windowSeconds / 3600).toFixed(4))) : '',
  };
}

export function postedCampaign(form: FormFields): CampaignFormValues {
  return {
    name: text(form, 'name'),
    status: text(form, 'status'),
    start: text(form, 'start'),
    end: text(form, 'end'),
    bidType: text(form, 'bidType'),
    bidAmount: text(form, 'bidAmount'),
    dailyBudget: text(form, 'dailyBudget'),
    totalBudget: text(form, 'totalBudget'),
    pacing: text(form, 'pacing'),
    countries: text(form, 'countries'),
    languages: text(form, 'languages'),
    platforms: all(form, 'platforms'),
    capImpressions: text(form, 'capImpressions'),
    capHours: text(form, 'capHours'),
  };
}

/**
 * The API body for these values. Amounts and counts the form cannot even turn
 * into numbers are reported here; everything else is for the API to judge.
 */
export function campaignBody(v: CampaignFormValues): { body: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const amount = (field: keyof CampaignFormValues, value: string) => {
    const micros = parseMicros(value);
    if (Number.isNaN(micros)) errors[field] = ['enter an amount such as 2.50'];
    return micros;
  };
  const count = (field: keyof CampaignFormValues, value: string) => {
    const n = parseCount(value);
    if (Number.isNaN(n)) errors[field] = ['enter a whole number'];
    return n;
  };
  /** Hours as typed (e.g. 24 or 0.5) → whole seconds. */
  const hours = (field: keyof CampaignFormValues, value: string) => {
    const trimmed = value.trim();
    if (trimmed === '') return undefined;
    if (!/^\d{1,6}(\.\d{1,6})?$/.test(trimmed)) {
      errors[field] = ['enter a number of hours, e.g. 24 or 0.5'];
      return Number.NaN;
    }
    return Math.round(Number(trimmed) * 3600);
  };
  const bidAmount = amount('bidAmount', v.bidAmount);
  const dailyMicros = amount('dailyBudget', v.dailyBudget);
  const totalMicros = amount('totalBudget', v.totalBudget);
  const capImpressions = count('capImpressions', v.capImpressions);
  const capHours = hours('capHours', v.capHours);
  if ((capImpressions === undefined) !== (capHours === undefined)) {
    errors[capImpressions === undefined ? 'capImpressions' : 'capHours'] = ['fill in both cap fields, or neither'];
  }
  // Codes as people type them ("de, fr"): the API takes countries in upper case and languages in lower case.
  const countries = list(v.countries.toUpperCase());
  const languages = list(v.languages.toLowerCase());
  const body: Record<string, unknown> = {
    name: v.name,
    status: v.status,
    ...(bidAmount !== undefined ? { bid: { type: v.bidType, amountMicros: bidAmount } } : {}),
    budget: {
      ...(dailyMicros !== undefined ? { dailyMicros } : {}),
      ...(totalMicros !== undefined ? { totalMicros } : {}),
    },
    pacing: v.pacing,
    targeting: {
      ...(countries ? { countries } : {}),
      ...(languages ? { languages } : {}),
      ...(v.platforms.length ? { platforms: v.platforms } : {}),
    },
    caps:
      capImpressions !== undefined && capHours !== undefined ? [{ impressions: capImpressions, windowSeconds: capHours }] : [],
  };
  // The end date is the last day it runs, so a one-day campaign has the same start and end date.
  if (v.start || v.end) body.schedule = { start: v.start || isoDay(Date.now()), ...(v.end ? { end: endAfter(v.end) } : {}) };
  return { body, errors };
}

type Cap = CampaignView['caps'][number];

/** "3 impressions per person per 12 hours": a cap in the product's words, its window in the largest whole unit. */
export function describeCap({ impressions, windowSeconds: s }: Cap): string {
  const [size, name] = (
    [
      [86_400, 'day'],
      [3_600, 'hour'],
      [60, 'minute'],
    ] as const
  ).find(([n]) => s % n === 0) ?? [1, 'second'];
  const n = s / size;
  return `${impressions} impression${impressions === 1 ? '' : 's'} per person per ${n === 1 ? name : `${n} ${name}s`}`;
}

/**
 * The form shows and edits a campaign's first cap; a change to it keeps the others (made through the API)
 * rather than replacing the whole list with the one the form shows.
 */
export function keepOtherCaps(patch: Record<string, unknown>, campaign: CampaignView): Record<string, unknown> {
  if (!Array.isArray(patch.caps) || campaign.caps.length < 2) return patch;
  return { ...patch, caps: [...patch.caps, ...campaign.caps.slice(1)] };
}

/**
 * For an edit: only what the form changed, so fields the form cannot show exactly (a 90 s cap, a start time) stay as
 * they are. PATCH merges objects, so a member the form emptied (no total budget, any country, no end) is sent as null.
 */
export function changedFields(next: Record<string, unknown>, before: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (JSON.stringify(value) === JSON.stringify(before[key])) continue;
    const old = before[key];
    out[key] = isPlainObject(value) && isPlainObject(old) ? { ...nullsFor(old), ...value } : value;
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nullsFor = (o: Record<string, unknown>) => Object.fromEntries(Object.keys(o).map((k) => [k, null]));
