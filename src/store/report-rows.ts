/**
 * Report rows, as every backend stores and reads them: one row per campaign, UTC
 * day, breakdown and key ('day' has the key ''; 'hour' the hour "HH"; 'creative',
 * 'country' and 'platform' the creative id or the value the feed client sent, ''
 * when it sent none), with counters and a reach sketch. An event counts in one row
 * of each breakdown; reading sums rows of a key across days and merges their sketches.
 */
import type { EventType } from '../engine/types.js';
import { Reach } from './reach.js';

export const REPORT_BREAKDOWNS = ['day', 'hour', 'creative', 'country', 'platform'] as const;
export type ReportBy = (typeof REPORT_BREAKDOWNS)[number];

/** The counter columns of a report row, in CSV order. */
export const REPORT_COUNTERS = [
  'impressions',
  'clicks',
  'hides',
  'reports',
  'blocks',
  'spendMicros',
  'videoStarts',
  'videoFirstQuartiles',
  'videoMidpoints',
  'videoThirdQuartiles',
  'videoCompletes',
] as const;
export type ReportCounter = (typeof REPORT_COUNTERS)[number];

/** The counter each event type counts in. */
export const counterOf: Record<EventType, Exclude<ReportCounter, 'spendMicros'>> = {
  impression: 'impressions',
  click: 'clicks',
  hide: 'hides',
  report: 'reports',
  block: 'blocks',
  start: 'videoStarts',
  first_quartile: 'videoFirstQuartiles',
  midpoint: 'videoMidpoints',
  third_quartile: 'videoThirdQuartiles',
  complete: 'videoCompletes',
};

/** Where an event happened, as far as reports break it down. */
export interface ReportContext {
  creativeId: string;
  /** As the feed client sent it with the slot request; '' when it sent none. */
  country: string;
  platform: string;
  at: number;
}

/** The (breakdown, key) rows one event counts in, on its UTC day. */
export function reportKeys(context: ReportContext): { by: ReportBy; key: string }[] {
  // The UTC hour "HH" by arithmetic (times are Unix ms, never negative here): no Date per event.
  const h = Math.floor(context.at / 3_600_000) % 24;
  const hour = h < 10 ? `0${h}` : `${h}`;
  return [
    { by: 'day', key: '' },
    { by: 'hour', key: hour },
    { by: 'creative', key: context.creativeId },
    { by: 'country', key: context.country },
    { by: 'platform', key: context.platform },
  ];
}

/** A stored row: counters as columns, reach as a serialized sketch. */
export type StoredReportRow = { day: string; key: string; reachSketch: string | null } & Record<ReportCounter, number>;

export type ReportRow = Partial<Record<'date' | 'hour' | 'creativeId' | 'country' | 'platform', string>> &
  Record<ReportCounter | 'reach', number>;

const labelOf: Record<ReportBy, 'date' | 'hour' | 'creativeId' | 'country' | 'platform'> = {
  day: 'date',
  hour: 'hour',
  creative: 'creativeId',
  country: 'country',
  platform: 'platform',
};

/**
 * Rows as advertisers read them, ordered by key: by day and hour one row per
 * stored row; by creative, country and platform one row per key over the range
 * (counters summed, reach from the union of the days' sketches).
 */
export function toReportRows(stored: StoredReportRow[], by: ReportBy): ReportRow[] {
  const label = labelOf[by];
  const groups = new Map<string, { row: StoredReportRow; reach: Reach; counters: Record<ReportCounter, number> }>();
  for (const row of stored) {
    const key = by === 'day' ? row.day : by === 'hour' ? `${row.day}T${row.key}` : row.key;
    const group = groups.get(key);
    if (!group) {
      const counters = Object.fromEntries(REPORT_COUNTERS.map((c) => [c, row[c]])) as Record<ReportCounter, number>;
      groups.set(key, { row, reach: Reach.parse(row.reachSketch), counters });
      continue;
    }
    for (const c of REPORT_COUNTERS) group.counters[c] += row[c];
    group.reach.merge(Reach.parse(row.reachSketch));
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, { reach, counters }]) => {
      const { impressions, ...rest } = counters;
      return { [label]: key, impressions, reach: reach.estimate(), ...rest };
    });
}
